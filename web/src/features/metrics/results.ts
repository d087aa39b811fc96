// A query result as chart lines and table rows.
import { seriesName } from './completion'
import type { Labels, QueryData, SamplePair } from './promApi'

export interface ChartLine {
  name: string
  labels: Labels
  /** [ms, value]; null where the value is not finite (NaN, ±Inf) so the line breaks there. */
  points: [number, number | null][]
}

export interface ResultRow {
  key: string
  name: string
  labels: Labels
  /** The value (instant) or the last value (range), as Prometheus sent it. */
  value: string
  /** Range results: how many samples the series has. */
  points: number | null
  at: number
}

/** Lines drawn at most (the table still lists every series). */
export const MAX_LINES = 200

function number(pair: SamplePair): [number, number | null] {
  const v = Number(pair[1])
  return [pair[0] * 1000, Number.isFinite(v) ? v : null]
}

export function chartLines(data: QueryData | null): ChartLine[] {
  if (!data || data.resultType !== 'matrix') return []
  return data.result.slice(0, MAX_LINES).map((s) => ({
    name: seriesName(s.metric),
    labels: s.metric,
    points: s.values.map(number),
  }))
}

export function resultRows(data: QueryData | null): ResultRow[] {
  if (!data) return []
  switch (data.resultType) {
    case 'vector':
      return data.result.map((s, i) => ({
        key: String(i),
        name: seriesName(s.metric),
        labels: s.metric,
        value: s.value[1],
        points: null,
        at: s.value[0],
      }))
    case 'matrix':
      return data.result.map((s, i) => {
        const last = s.values[s.values.length - 1]
        return {
          key: String(i),
          name: seriesName(s.metric),
          labels: s.metric,
          value: last ? last[1] : '',
          points: s.values.length,
          at: last ? last[0] : 0,
        }
      })
    case 'scalar':
    case 'string':
      return [{ key: '0', name: data.resultType, labels: {}, value: data.result[1], points: null, at: data.result[0] }]
  }
}

export function seriesCount(data: QueryData | null): number {
  if (!data) return 0
  return data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length : 1
}

export function pointCount(data: QueryData | null): number {
  if (!data) return 0
  if (data.resultType === 'matrix') return data.result.reduce((n, s) => n + s.values.length, 0)
  return seriesCount(data)
}

/** A value for reading: large and small numbers in a compact form, text as is. */
export function formatSample(value: string): string {
  const v = Number(value)
  if (!Number.isFinite(v) || value.trim() === '') return value
  if (v !== 0 && (Math.abs(v) >= 1e15 || Math.abs(v) < 1e-4)) return v.toExponential(4)
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8)))
}

/** `parse error at char 12: ...`: the 1-based character the message points at, if any. */
export function errorPosition(message: string): number | null {
  const m = /at char (\d+)/.exec(message)
  return m ? Number(m[1]) : null
}
