// The Prometheus-compatible query API (`/prometheus/api/v1/...`), typed by hand.
//
// Why not the generated client: these routes answer in Prometheus's own envelope
// (`{status, data, warnings}` / `{status: "error", errorType, error}`) so that Grafana and
// promtool can use them, and the server declares them as plain `Response`s: in the OpenAPI
// schema their parameters are `never` and their bodies `unknown`. The few result shapes below
// are Prometheus's documented ones (prometheus.io/docs/prometheus/latest/querying/api/).
import { reportUnauthenticated } from '@/api/client'

const BASE = '/prometheus/api/v1'

export type Labels = Record<string, string>
/** `[unix seconds, value as text]`: Prometheus sends values as strings (NaN, +Inf). */
export type SamplePair = [number, string]

export interface VectorSample {
  metric: Labels
  value: SamplePair
}

export interface MatrixSeries {
  metric: Labels
  values: SamplePair[]
}

export type QueryData =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'scalar'; result: SamplePair }
  | { resultType: 'string'; result: SamplePair }

export interface MetricMetadata {
  type: string
  help: string
  unit: string
}

export interface PromResult<T> {
  data: T
  warnings: string[]
}

/** An error in Prometheus's envelope (`bad_data`, `execution`, `timeout`, ...) or from HTTP. */
export class PromError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message)
    this.name = 'PromError'
  }
}

type Params = [string, string][]

function isAbort(cause: unknown): boolean {
  return cause instanceof DOMException && cause.name === 'AbortError'
}

/** A body in either envelope (ours for 401/403 from authentication, Prometheus's otherwise). */
function errorOf(status: number, body: unknown): PromError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (typeof b.error === 'string') {
    return new PromError(status, typeof b.errorType === 'string' ? b.errorType : `http_${status}`, b.error)
  }
  const ours = b.error as { code?: unknown; message?: unknown } | undefined
  if (ours && typeof ours.message === 'string') {
    return new PromError(status, typeof ours.code === 'string' ? ours.code : `http_${status}`, ours.message)
  }
  return new PromError(status, `http_${status}`, `the server answered ${status}`)
}

async function request<T>(path: string, params: Params, options: { post?: boolean; signal?: AbortSignal } = {}) {
  const search = new URLSearchParams(params)
  const init: RequestInit = { credentials: 'same-origin', signal: options.signal, headers: { accept: 'application/json' } }
  let url = `${BASE}${path}`
  if (options.post) {
    // Queries go as a POST form (as promtool does): long expressions never hit URL limits.
    Object.assign(init, { method: 'POST', body: search })
  } else if (params.length) {
    url += `?${search.toString()}`
  }
  let response: Response
  try {
    response = await fetch(url, init)
  } catch (cause) {
    if (isAbort(cause)) throw cause
    throw new PromError(0, 'network', `cannot reach the server (${String(cause)})`)
  }
  if (response.status === 401) reportUnauthenticated()
  const body: unknown = await response.json().catch(() => null)
  const ok = response.ok && (body as { status?: unknown } | null)?.status === 'success'
  if (!ok) throw errorOf(response.status, body)
  const { data, warnings } = body as { data: T; warnings?: string[] }
  return { data, warnings: warnings ?? [] } satisfies PromResult<T>
}

const matches = (match: string[]): Params => match.map((m) => ['match[]', m])

export function instantQuery(query: string, time: number, signal?: AbortSignal) {
  return request<QueryData>('/query', [['query', query], ['time', String(time)]], { post: true, signal })
}

export function rangeQuery(query: string, start: number, end: number, step: number, signal?: AbortSignal) {
  const params: Params = [['query', query], ['start', String(start)], ['end', String(end)], ['step', String(step)]]
  return request<QueryData>('/query_range', params, { post: true, signal })
}

export function labelNames(match: string[] = [], signal?: AbortSignal) {
  return request<string[]>('/labels', matches(match), { signal })
}

export function labelValues(name: string, match: string[] = [], signal?: AbortSignal) {
  return request<string[]>(`/label/${encodeURIComponent(name)}/values`, matches(match), { signal })
}

export function series(match: string[], signal?: AbortSignal) {
  return request<Labels[]>('/series', matches(match), { signal })
}

export function metadata(signal?: AbortSignal) {
  return request<Record<string, MetricMetadata[]>>('/metadata', [], { signal })
}

/** The expression pretty-printed: a cheap way to learn whether it parses. */
export function formatQuery(query: string, signal?: AbortSignal) {
  return request<string>('/format_query', [['query', query]], { post: true, signal })
}
