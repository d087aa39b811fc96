import { defineStore } from 'pinia'
import { reactive, shallowRef } from 'vue'
import { api, call } from '@/api/client'
import type {
  ImportResult,
  RuleCreate,
  RuleGroupRead,
  RuleRead,
  RuleUpdate,
  ThresholdPreview,
  ThresholdRule,
} from '@/api/types'
import { pagedList } from '@/ui/paged'

export interface RuleFilters {
  search: string
  groupId: number | null
  /** '' any, 'enabled', 'disabled' */
  enabled: '' | 'enabled' | 'disabled'
  severity: string
}

const rulePath = (id: number) => ({ params: { path: { rule_id: id } } })

export const useRulesStore = defineStore('alertRules', () => {
  const filters = reactive<RuleFilters>({ search: '', groupId: null, enabled: '', severity: '' })
  const groups = shallowRef<RuleGroupRead[]>([])

  const rules = pagedList<RuleRead>((cursor, limit, quiet) => {
    const query = {
      limit,
      cursor,
      search: filters.search.trim() || undefined,
      group_id: filters.groupId ?? undefined,
      enabled: filters.enabled === '' ? undefined : filters.enabled === 'enabled',
      severity: filters.severity || undefined,
    }
    return call(api.GET('/api/v1/alerts/rules', { params: { query } }), { quiet })
  }, 100)

  async function loadGroups(): Promise<void> {
    groups.value = await call(api.GET('/api/v1/alerts/rule-groups'))
  }

  async function load(): Promise<void> {
    await Promise.all([rules.load(), loadGroups()])
  }

  function replace(rule: RuleRead): void {
    rules.items.value = rules.items.value.map((r) => (r.id === rule.id ? rule : r))
  }

  async function create(body: RuleCreate): Promise<RuleRead> {
    const rule = await call(api.POST('/api/v1/alerts/rules', { body }))
    await load()
    return rule
  }

  async function createThreshold(body: ThresholdRule): Promise<RuleRead> {
    const rule = await call(api.POST('/api/v1/alerts/rules/threshold', { body }))
    await load()
    return rule
  }

  /** Edit a builder rule in the builder: the server compiles the spec again (same rule). */
  async function updateThreshold(id: number, body: ThresholdRule): Promise<RuleRead> {
    const rule = await call(api.PUT('/api/v1/alerts/rules/{rule_id}/threshold', { ...rulePath(id), body }))
    replace(rule)
    await loadGroups()
    return rule
  }

  /** The PromQL a builder spec compiles to (quiet: the dialog shows the error inline). */
  async function preview(body: ThresholdRule, signal?: AbortSignal): Promise<ThresholdPreview> {
    return call(api.POST('/api/v1/alerts/rules/threshold/preview', { body, signal }), { quiet: true })
  }

  async function update(id: number, body: RuleUpdate): Promise<RuleRead> {
    const rule = await call(api.PATCH('/api/v1/alerts/rules/{rule_id}', { ...rulePath(id), body }))
    replace(rule)
    await loadGroups()
    return rule
  }

  async function setEnabled(id: number, enabled: boolean): Promise<RuleRead> {
    const rule = enabled
      ? await call(api.POST('/api/v1/alerts/rules/{rule_id}/enable', rulePath(id)))
      : await call(api.POST('/api/v1/alerts/rules/{rule_id}/disable', rulePath(id)))
    replace(rule)
    return rule
  }

  async function remove(id: number): Promise<void> {
    await call(api.DELETE('/api/v1/alerts/rules/{rule_id}', rulePath(id)))
    rules.items.value = rules.items.value.filter((r) => r.id !== id)
    await loadGroups()
  }

  async function importYaml(yaml: string, replaceGroups: boolean): Promise<ImportResult> {
    const result = await call(
      api.POST('/api/v1/alerts/rules/import', {
        params: { query: { replace: replaceGroups } },
        body: yaml,
        bodySerializer: (b: string) => b,
        headers: { 'content-type': 'application/yaml' },
      }),
      { quiet: true },
    )
    await load()
    return result
  }

  /** The rules as a Prometheus rule file (the same YAML `promtool check rules` accepts). */
  async function exportYaml(includeDisabled: boolean): Promise<string> {
    const query = { include_disabled: includeDisabled, group_id: filters.groupId ?? undefined }
    const text = await call(api.GET('/api/v1/alerts/rules/export', { params: { query }, parseAs: 'text' }))
    return String(text)
  }

  return {
    filters, groups, rules, load, loadGroups, create, createThreshold, updateThreshold, preview, update, setEnabled, remove,
    importYaml, exportYaml,
  }
})
