// A file's processing records as the detail page shows them: every attempt in order, the state
// of each step, and what a manual retry would redo (the server's rule, retrying.choose_step,
// replayed here so the confirmation can name it). Pure: no Vue.
import type { FileRead, ProcessingRead } from '@/api/types'

export const STEPS = ['upload', 'analysis', 'ai_analysis', 'report'] as const
export type StepName = (typeof STEPS)[number]

export const STEP_LABELS: Record<string, string> = {
  upload: 'Upload',
  analysis: 'Analysis',
  ai_analysis: 'AI summary',
  report: 'Report',
}

export const stepLabel = (step: string): string => STEP_LABELS[step] ?? step

export interface Attempt {
  record: ProcessingRead
  /** 1 for the first attempt at this step, 2 for its first retry, ... */
  attempt: number
}

/** Every record in the order it was made, numbered within its step. */
export function attempts(records: readonly ProcessingRead[]): Attempt[] {
  const seen: Record<string, number> = {}
  return [...records]
    .sort((a, b) => a.id - b.id)
    .map((record) => {
      seen[record.step] = (seen[record.step] ?? 0) + 1
      return { record, attempt: seen[record.step]! }
    })
}

export interface StepSummary {
  step: StepName
  label: string
  /** The latest attempt's state, or `not started`. */
  status: string
  attempts: number
  /** The latest attempt's duration (null while it runs or if it never started). */
  seconds: number | null
  error: string | null
}

/** One line per pipeline step: how its latest attempt went and how many there were. */
export function stepSummaries(records: readonly ProcessingRead[]): StepSummary[] {
  const numbered = attempts(records)
  return STEPS.map((step) => {
    const mine = numbered.filter((a) => a.record.step === step)
    const latest = mine[mine.length - 1]?.record
    return {
      step,
      label: stepLabel(step),
      status: latest?.status ?? 'not started',
      attempts: mine.length,
      seconds: latest?.duration_seconds ?? null,
      error: latest?.status === 'failed' ? (latest.error ?? latest.error_type ?? 'failed') : null,
    }
  })
}

/** Created to analysed (or to failed), in seconds; null while the file is on its way. */
export function processingSeconds(file: Pick<FileRead, 'created_at' | 'analyzed_at' | 'failed_at' | 'status'>): number | null {
  const end = file.status === 'analyzed' ? file.analyzed_at : file.status === 'failed' ? file.failed_at : null
  if (!end) return null
  const seconds = (Date.parse(end) - Date.parse(file.created_at)) / 1000
  return Number.isFinite(seconds) ? Math.max(0, seconds) : null
}

export interface RetryPlan {
  step: 'upload' | 'analysis' | 'ai_analysis'
  /** What the confirmation says will be redone. */
  what: string
}

type PlanFile = Pick<FileRead, 'status' | 'uploaded_at' | 'file_name' | 'node' | 'node_id'>

/** What a manual retry redoes for this file, or null when nothing failed (the server says 409). */
export function retryPlan(file: PlanFile, records: readonly ProcessingRead[]): RetryPlan | null {
  const stored = file.uploaded_at !== null && file.uploaded_at !== undefined
  if (file.status === 'created' || file.status === 'uploading' || (file.status === 'failed' && !stored)) {
    const what = file.node_id
      ? `Ask node ${file.node} to upload ${file.file_name} again over its link (the agent resumes from where it stopped).`
      : `Ask for the upload of ${file.file_name} again. No agent holds it (an external watcher announced it from ${file.node}), so this fails unless that watcher uploads it again.`
    return { step: 'upload', what }
  }
  if (file.status === 'failed') {
    return {
      step: 'analysis',
      what: `Run the analysis of ${file.file_name} again from the stored dump, then its summary and report.`,
    }
  }
  const ai = attempts(records).filter((a) => a.record.step === 'ai_analysis').pop()
  if (file.status === 'analyzed' && ai?.record.status === 'failed') {
    return {
      step: 'ai_analysis',
      what: `Ask the AI endpoint again for the summary of ${file.file_name} (the analysis is not redone).`,
    }
  }
  return null
}

/** A processing record's details as label/value pairs (nested values as compact JSON). */
export function detailPairs(details: Record<string, unknown> | null | undefined): [string, string][] {
  return Object.entries(details ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [k.replace(/_/g, ' '), typeof v === 'object' ? JSON.stringify(v) : String(v)])
}
