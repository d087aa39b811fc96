// The settings page's forms: a watch rule as edited <-> its API body, and the pipeline settings
// as edited -> only the fields that changed (secrets: typed, kept, or cleared). Pure: no Vue.
import type { DumpSettingsRead, DumpSettingsUpdate, WatchRuleCreate, WatchRuleRead } from '@/api/types'

export type Scope = 'all' | 'nodes' | 'labels'
export type AfterUpload = WatchRuleCreate['after_upload']

export interface RuleForm {
  name: string
  /** One directory per line. */
  paths: string
  /** Comma- or space-separated globs. */
  patterns: string
  pathTemplate: string
  stableSeconds: number
  afterUpload: NonNullable<AfterUpload>
  scope: Scope
  nodeIds: string[]
  labels: Record<string, string>
  enabled: boolean
}

export const DEFAULT_PATTERNS = '*.hprof, *.hprof.gz'

export function ruleForm(rule: WatchRuleRead | null): RuleForm {
  if (!rule) {
    return {
      name: '',
      paths: '',
      patterns: DEFAULT_PATTERNS,
      pathTemplate: '',
      stableSeconds: 10,
      afterUpload: 'keep',
      scope: 'all',
      nodeIds: [],
      labels: {},
      enabled: true,
    }
  }
  const scope: Scope = rule.node_ids?.length ? 'nodes' : Object.keys(rule.labels ?? {}).length ? 'labels' : 'all'
  return {
    name: rule.name,
    paths: (rule.paths ?? []).join('\n'),
    patterns: (rule.patterns ?? []).join(', '),
    pathTemplate: rule.path_template ?? '',
    stableSeconds: rule.stable_seconds ?? 10,
    afterUpload: rule.after_upload ?? 'keep',
    scope,
    nodeIds: [...(rule.node_ids ?? [])],
    labels: { ...(rule.labels ?? {}) },
    enabled: rule.enabled ?? true,
  }
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean)
const words = (text: string) => text.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean)

/** What is missing or wrong before the form can be sent (the server checks again). */
export function ruleProblems(form: RuleForm): string[] {
  const problems: string[] = []
  if (!form.name.trim()) problems.push('a name')
  if (!lines(form.paths).length) problems.push('at least one directory')
  if (lines(form.paths).some((p) => !p.startsWith('/'))) problems.push('absolute directories (starting with /)')
  if (form.scope === 'nodes' && !form.nodeIds.length) problems.push('at least one node (or scope: all nodes)')
  if (form.scope === 'labels' && !Object.keys(form.labels).length) problems.push('at least one label (or scope: all nodes)')
  return problems
}

/** The create body (also sent whole on edit: every field is set, the scope not chosen cleared). */
export function ruleBody(form: RuleForm): WatchRuleCreate {
  return {
    name: form.name.trim(),
    paths: lines(form.paths),
    patterns: words(form.patterns),
    path_template: form.pathTemplate.trim() || null,
    stable_seconds: form.stableSeconds,
    after_upload: form.afterUpload,
    node_ids: form.scope === 'nodes' ? [...form.nodeIds] : [],
    labels: form.scope === 'labels' ? { ...form.labels } : {},
    enabled: form.enabled,
  }
}

/** A secret as edited: left as stored, replaced by what was typed, or cleared. */
export interface SecretEdit {
  text: string
  clear: boolean
}

export interface SettingsForm {
  backend: 'builtin' | 'jenkins'
  jenkinsUrl: string
  jenkinsJob: string
  jenkinsUser: string
  jenkinsToken: SecretEdit
  aiUrl: string
  aiModel: string
  aiKey: SecretEdit
  retryMaxUpload: number
  retryMaxAnalysis: number
  retryMaxAiAnalysis: number
  retryBaseDelay: number
  retryMaxDelay: number
  reportLinkTtl: number
  /** KiB/s; null: no limit. */
  uploadKibPerSecond: number | null
  uploadConcurrency: number
}

/** A placeholder until the settings in force are read. */
export function blankSettingsForm(): SettingsForm {
  return {
    backend: 'builtin',
    jenkinsUrl: '',
    jenkinsJob: '',
    jenkinsUser: '',
    jenkinsToken: { text: '', clear: false },
    aiUrl: '',
    aiModel: '',
    aiKey: { text: '', clear: false },
    retryMaxUpload: 0,
    retryMaxAnalysis: 0,
    retryMaxAiAnalysis: 0,
    retryBaseDelay: 30,
    retryMaxDelay: 3600,
    reportLinkTtl: 604800,
    uploadKibPerSecond: null,
    uploadConcurrency: 1,
  }
}

export function settingsForm(s: DumpSettingsRead): SettingsForm {
  return {
    backend: s.backend === 'jenkins' ? 'jenkins' : 'builtin',
    jenkinsUrl: s.jenkins_url ?? '',
    jenkinsJob: s.jenkins_job,
    jenkinsUser: s.jenkins_user ?? '',
    jenkinsToken: { text: '', clear: false },
    aiUrl: s.ai_url ?? '',
    aiModel: s.ai_model,
    aiKey: { text: '', clear: false },
    retryMaxUpload: s.retry_max_upload,
    retryMaxAnalysis: s.retry_max_analysis,
    retryMaxAiAnalysis: s.retry_max_ai_analysis,
    retryBaseDelay: s.retry_base_delay,
    retryMaxDelay: s.retry_max_delay,
    reportLinkTtl: s.report_link_ttl,
    uploadKibPerSecond: s.upload_bytes_per_second === null || s.upload_bytes_per_second === undefined ? null : s.upload_bytes_per_second / 1024,
    uploadConcurrency: s.upload_concurrency,
  }
}

function secret(edit: SecretEdit): string | null | undefined {
  if (edit.clear) return null
  return edit.text.trim() ? edit.text.trim() : undefined
}

/** Only what differs from the settings in force; `{}` when nothing changed. */
export function settingsChanges(form: SettingsForm, s: DumpSettingsRead): DumpSettingsUpdate {
  const was = settingsForm(s)
  const out: DumpSettingsUpdate = {}
  const text = (v: string) => v.trim() || null
  if (form.backend !== was.backend) out.backend = form.backend
  if (form.jenkinsUrl.trim() !== was.jenkinsUrl) out.jenkins_url = text(form.jenkinsUrl)
  if (form.jenkinsJob.trim() !== was.jenkinsJob) out.jenkins_job = text(form.jenkinsJob)
  if (form.jenkinsUser.trim() !== was.jenkinsUser) out.jenkins_user = text(form.jenkinsUser)
  if (form.aiUrl.trim() !== was.aiUrl) out.ai_url = text(form.aiUrl)
  if (form.aiModel.trim() !== was.aiModel) out.ai_model = text(form.aiModel)
  const token = secret(form.jenkinsToken)
  if (token !== undefined && !(token === null && !s.jenkins_token_set)) out.jenkins_token = token
  const key = secret(form.aiKey)
  if (key !== undefined && !(key === null && !s.ai_key_set)) out.ai_key = key
  if (form.retryMaxUpload !== was.retryMaxUpload) out.retry_max_upload = form.retryMaxUpload
  if (form.retryMaxAnalysis !== was.retryMaxAnalysis) out.retry_max_analysis = form.retryMaxAnalysis
  if (form.retryMaxAiAnalysis !== was.retryMaxAiAnalysis) out.retry_max_ai_analysis = form.retryMaxAiAnalysis
  if (form.retryBaseDelay !== was.retryBaseDelay) out.retry_base_delay = form.retryBaseDelay
  if (form.retryMaxDelay !== was.retryMaxDelay) out.retry_max_delay = form.retryMaxDelay
  if (form.reportLinkTtl !== was.reportLinkTtl) out.report_link_ttl = form.reportLinkTtl
  if (form.uploadKibPerSecond !== was.uploadKibPerSecond) {
    out.upload_bytes_per_second = form.uploadKibPerSecond === null ? null : Math.round(form.uploadKibPerSecond * 1024)
  }
  if (form.uploadConcurrency !== was.uploadConcurrency) out.upload_concurrency = form.uploadConcurrency
  return out
}
