// Formatting for dense tables: sizes, rates, percentages and relative times.
import { ref } from 'vue'

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

export function formatBytes(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  let v = Math.abs(value)
  let unit = 0
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024
    unit += 1
  }
  const sign = value < 0 ? '-' : ''
  return `${sign}${unit === 0 ? v.toFixed(0) : v.toFixed(digits)} ${BYTE_UNITS[unit]}`
}

export function formatRate(bytesPerSecond: number | null | undefined): string {
  return bytesPerSecond === null || bytesPerSecond === undefined
    ? '—'
    : `${formatBytes(bytesPerSecond)}/s`
}

export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—'
  return `${(ratio * 100).toFixed(digits)} %`
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

/** A clock for relative times: ticks every 5 s so "12s ago" stays true without re-fetching. */
export const now = ref(Date.now())
setInterval(() => {
  now.value = Date.now()
}, 5000)

export function toMillis(value: string | number | Date): number {
  if (typeof value === 'number') return value
  return value instanceof Date ? value.getTime() : Date.parse(value)
}

export function formatRelative(value: string | number | Date, reference = now.value): string {
  const delta = (reference - toMillis(value)) / 1000
  if (!Number.isFinite(delta)) return '—'
  if (Math.abs(delta) < 5) return 'just now'
  const text = formatDuration(Math.abs(delta)).split(' ')[0]
  return delta >= 0 ? `${text} ago` : `in ${text}`
}

export function formatAbsolute(value: string | number | Date): string {
  const date = new Date(toMillis(value))
  if (Number.isNaN(date.getTime())) return '—'
  const pad = (n: number) => String(n).padStart(2, '0')
  const offset = -date.getTimezoneOffset()
  const zone = `${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`
  )
}

export function formatLabels(labels: Record<string, string>): string[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
}
