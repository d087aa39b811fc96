// Dumps per day and app (`DashboardStats.per_app_day`, the server's 7-day window) as chart
// series: the busiest apps each get a series, the rest add up under "other". Pure: no Vue.

export interface DayCount {
  app: string
  day: string
  count: number
}

export interface DailySeries {
  /** `YYYY-MM-DD`, oldest first, every day of the window (days without dumps count 0). */
  days: string[]
  series: { name: string; counts: number[] }[]
  total: number
}

const DAY_MS = 86_400_000

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** `window` days ending at `today` (UTC, as the server groups them). */
export function windowDays(today: string, window: number): string[] {
  const end = Date.parse(`${today}T00:00:00Z`)
  return Array.from({ length: window }, (_, i) => isoDay(end - (window - 1 - i) * DAY_MS))
}

export function readDayCounts(raw: readonly Record<string, unknown>[]): DayCount[] {
  return raw
    .map((r) => ({ app: typeof r.app === 'string' ? r.app : '', day: String(r.day ?? ''), count: Number(r.count ?? 0) }))
    .filter((r) => /^\d{4}-\d{2}-\d{2}$/.test(r.day) && Number.isFinite(r.count))
}

export function dailySeries(rows: readonly DayCount[], today: string, window = 7, top = 5): DailySeries {
  const days = windowDays(today, window)
  const index = new Map(days.map((d, i) => [d, i]))
  const perApp = new Map<string, number>()
  for (const r of rows) if (index.has(r.day)) perApp.set(r.app, (perApp.get(r.app) ?? 0) + r.count)
  const ranked = [...perApp.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  const named = new Set(ranked.slice(0, top).map(([app]) => app))
  const counts = new Map<string, number[]>()
  for (const r of rows) {
    const i = index.get(r.day)
    if (i === undefined) continue
    const name = named.has(r.app) ? r.app || '(no app)' : 'other'
    const line = counts.get(name) ?? days.map(() => 0)
    line[i]! += r.count
    counts.set(name, line)
  }
  const order = [...ranked.filter(([app]) => named.has(app)).map(([app]) => app || '(no app)'), 'other']
  const series = order.filter((n) => counts.has(n)).map((name) => ({ name, counts: counts.get(name)! }))
  return { days, series, total: ranked.reduce((n, [, c]) => n + c, 0) }
}
