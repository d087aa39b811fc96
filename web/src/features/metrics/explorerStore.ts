import { defineStore } from 'pinia'
import { computed, reactive, ref, shallowRef } from 'vue'
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import { parseDuration, promDuration } from '@/ui/duration'
import { instantQuery, PromError, rangeQuery, type QueryData } from './promApi'

export type QueryMode = 'range' | 'instant'
export type ResultView = 'chart' | 'table'
export const RANGES = ['5m', '1h', '6h', '24h', 'custom'] as const
export type RangeChoice = (typeof RANGES)[number]

/** Prometheus refuses more than 11,000 points per series. */
const MAX_POINTS = 11_000
/** The automatic step aims at about this many points across the chart. */
const AUTO_POINTS = 250

export interface ExplorerState {
  expr: string
  mode: QueryMode
  range: RangeChoice
  /** The custom window, when `range` is `custom`. */
  custom: [Date, Date] | null
  /** Empty: automatic. */
  step: string
  /** When an instant query is evaluated (null: now). */
  at: Date | null
  view: ResultView
}

export interface QueryOutcome {
  data: QueryData
  warnings: string[]
  /** The window evaluated, in unix seconds (start == end for instant queries). */
  start: number
  end: number
  step: number
  tookMs: number
}

/** [start, end] in unix seconds for a range choice, at `now`. */
export function timeWindow(state: Pick<ExplorerState, 'range' | 'custom'>, now = Date.now() / 1000): [number, number] {
  if (state.range === 'custom' && state.custom) {
    return [state.custom[0].getTime() / 1000, state.custom[1].getTime() / 1000]
  }
  const span = parseDuration(state.range === 'custom' ? '1h' : state.range) ?? 3600
  return [now - span, now]
}

/** The step for a window: the one asked for, or about 250 points (at least 1 s). */
export function stepFor(span: number, asked: string): number {
  const minimum = Math.max(1, Math.ceil(span / MAX_POINTS))
  const wanted = parseDuration(asked)
  if (wanted !== null && wanted > 0) return Math.max(wanted, minimum)
  return Math.max(minimum, Math.ceil(span / AUTO_POINTS))
}

function one(value: LocationQuery[string] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v : ''
}

/** The explorer's state from the URL (`?q=...&mode=range&range=1h&step=15s&view=table`). */
export function stateFromQuery(query: LocationQuery): Partial<ExplorerState> {
  const out: Partial<ExplorerState> = {}
  if (one(query.q)) out.expr = one(query.q)
  const mode = one(query.mode)
  if (mode === 'range' || mode === 'instant') out.mode = mode
  const range = one(query.range) as RangeChoice
  if ((RANGES as readonly string[]).includes(range)) out.range = range
  const from = Number(one(query.from))
  const to = Number(one(query.to))
  if (out.range === 'custom' && from > 0 && to > from) out.custom = [new Date(from * 1000), new Date(to * 1000)]
  else if (out.range === 'custom') out.range = '1h'
  if (one(query.step)) out.step = one(query.step)
  const at = Number(one(query.at))
  if (at > 0) out.at = new Date(at * 1000)
  const view = one(query.view)
  if (view === 'chart' || view === 'table') out.view = view
  return out
}

export function queryFromState(state: ExplorerState): LocationQueryRaw {
  const query: LocationQueryRaw = { q: state.expr, mode: state.mode }
  if (state.mode === 'range') query.range = state.range
  if (state.mode === 'range' && state.range === 'custom' && state.custom) {
    query.from = String(Math.floor(state.custom[0].getTime() / 1000))
    query.to = String(Math.floor(state.custom[1].getTime() / 1000))
  }
  if (state.mode === 'range' && state.step.trim()) query.step = state.step.trim()
  if (state.mode === 'instant' && state.at) query.at = String(Math.floor(state.at.getTime() / 1000))
  if (state.view !== 'chart') query.view = state.view
  return query
}

export const useExplorerStore = defineStore('metricsExplorer', () => {
  const state = reactive<ExplorerState>({ expr: '', mode: 'range', range: '1h', custom: null, step: '', at: null, view: 'chart' })
  const outcome = shallowRef<QueryOutcome | null>(null)
  const error = ref<PromError | null>(null)
  const loading = ref(false)
  let inflight: AbortController | null = null

  const stepInvalid = computed(() => state.step.trim() !== '' && !(parseDuration(state.step) ?? 0))
  /** What "auto" means for the current window (shown as the step box's placeholder). */
  const autoStep = computed(() => {
    const [start, end] = timeWindow(state)
    return promDuration(stepFor(end - start, ''))
  })

  function apply(partial: Partial<ExplorerState>): void {
    Object.assign(state, partial)
  }

  async function run(): Promise<void> {
    const expr = state.expr.trim()
    if (!expr) return
    inflight?.abort()
    const controller = new AbortController()
    inflight = controller
    loading.value = true
    error.value = null
    const [start, end] = timeWindow(state)
    const step = stepFor(end - start, state.step)
    const began = performance.now()
    try {
      const result =
        state.mode === 'range'
          ? await rangeQuery(expr, start, end, step, controller.signal)
          : await instantQuery(expr, state.at ? state.at.getTime() / 1000 : Date.now() / 1000, controller.signal)
      outcome.value = {
        data: result.data,
        warnings: result.warnings,
        start: state.mode === 'range' ? start : end,
        end: state.mode === 'range' ? end : (state.at?.getTime() ?? Date.now()) / 1000,
        step,
        tookMs: performance.now() - began,
      }
    } catch (e) {
      if (controller.signal.aborted) return
      error.value = e instanceof PromError ? e : new PromError(0, 'client', String(e))
      outcome.value = null
    } finally {
      if (inflight === controller) {
        loading.value = false
        inflight = null
      }
    }
  }

  return { state, outcome, error, loading, stepInvalid, autoStep, apply, run }
})
