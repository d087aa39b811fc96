// A node's recent host metrics in the browser: loaded once from
// GET /api/v1/nodes/{id}/metrics, then extended with the `recent` series of the
// `node:<id>` stream topic (merged by timestamp). Pure data code; the charts read the chart
// series built here.
import type { MetricSeries } from '@/api/types'

export type Point = [number, number]

export interface Series {
  name: string
  labels: Record<string, string>
  points: Point[]
}

export interface ChartSeries {
  name: string
  points: Point[]
}

export const WINDOW_SECONDS = 900



export function seriesKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return `${name}{${pairs.join(',')}}`
}

export class MetricBuffer {
  private series = new Map<string, Series>()

  constructor(private readonly windowMs = WINDOW_SECONDS * 1000) {}

  /** `[ts_ms, value]` pairs arrive typed as plain arrays through openapi-fetch: checked here. */
  load(list: (Omit<MetricSeries, 'points'> & { points: readonly (readonly number[])[] })[]): void {
    this.series.clear()
    for (const s of list) {
      const points = s.points
        .filter((p) => p.length === 2)
        .map(([t, v]): Point => [t!, v!])
        .sort((a, b) => a[0] - b[0])
      this.series.set(seriesKey(s.name, s.labels), { name: s.name, labels: s.labels, points })
    }
  }

  /** Merge recent samples (the snapshot's last seconds): those newer than what is held are
   * added, so overlapping snapshots add nothing twice. Returns whether anything was new. */
  merge(list: MetricSeries[]): boolean {
    let changed = false
    let newest = 0
    for (const recent of list) {
      const key = seriesKey(recent.name, recent.labels)
      let series = this.series.get(key)
      if (!series) {
        series = { name: recent.name, labels: recent.labels, points: [] }
        this.series.set(key, series)
      }
      for (const [ts, value] of [...recent.points].sort((a, b) => a[0] - b[0])) {
        const last = series.points[series.points.length - 1]
        if (!last || ts > last[0]) {
          series.points.push([ts, value])
          changed = true
        }
        newest = Math.max(newest, ts)
      }
    }
    if (changed) this.trim(newest - this.windowMs)
    return changed
  }

  select(name: string, match: (labels: Record<string, string>) => boolean = () => true): Series[] {
    return [...this.series.values()].filter((s) => s.name === name && match(s.labels))
  }

  latest(name: string): number | null {
    const series = this.select(name)[0]
    const last = series?.points[series.points.length - 1]
    return last ? last[1] : null
  }

  private trim(cutoff: number): void {
    for (const series of this.series.values()) {
      const first = series.points.findIndex((p) => p[0] >= cutoff)
      if (first > 0) series.points.splice(0, first)
      else if (first === -1) series.points.length = 0
    }
  }
}

/** Per-second rate of a monotonic counter; a drop (agent restart, wrap) starts afresh. */
export function counterRate(points: Point[]): Point[] {
  const out: Point[] = []
  for (let i = 1; i < points.length; i++) {
    const [t0, v0] = points[i - 1]!
    const [t1, v1] = points[i]!
    const seconds = (t1 - t0) / 1000
    if (seconds <= 0 || v1 < v0) continue
    out.push([t1, (v1 - v0) / seconds])
  }
  return out
}

/** Sums several series point by point on equal timestamps (agents sample all series at once). */
export function sumByTimestamp(list: Point[][]): Point[] {
  const sums = new Map<number, number>()
  for (const points of list) for (const [t, v] of points) sums.set(t, (sums.get(t) ?? 0) + v)
  return [...sums.entries()].sort((a, b) => a[0] - b[0])
}

const scale = (points: Point[], factor: number): Point[] => points.map(([t, v]) => [t, v * factor])

export function cpuChart(buffer: MetricBuffer): ChartSeries[] {
  return buffer
    .select('host_cpu_utilization_ratio', (l) => l.cpu === 'total')
    .map((s) => ({ name: 'CPU', points: scale(s.points, 100) }))
}

export function memoryChart(buffer: MetricBuffer): ChartSeries[] {
  return buffer.select('host_memory_used_bytes').map((s) => ({ name: 'used', points: s.points.slice() }))
}

export function diskChart(buffer: MetricBuffer): ChartSeries[] {
  return buffer
    .select('host_filesystem_utilization_ratio')
    .sort((a, b) => (a.labels.mountpoint ?? '').localeCompare(b.labels.mountpoint ?? ''))
    .map((s) => ({ name: s.labels.mountpoint ?? s.labels.device ?? '?', points: scale(s.points, 100) }))
}

const physical = (labels: Record<string, string>) => labels.interface !== 'lo'

/** Receive and transmit rates summed over the interfaces (loopback left out). */
export function networkChart(buffer: MetricBuffer): ChartSeries[] {
  const rate = (name: string) =>
    sumByTimestamp(buffer.select(name, physical).map((s) => counterRate(s.points)))
  const rx = rate('host_network_received_bytes_total')
  const tx = rate('host_network_transmitted_bytes_total')
  return rx.length || tx.length
    ? [
        { name: 'rx', points: rx },
        { name: 'tx', points: tx },
      ]
    : []
}

export function pointCount(series: ChartSeries[]): number {
  return series.reduce((n, s) => n + s.points.length, 0)
}
