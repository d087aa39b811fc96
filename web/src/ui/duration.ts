// Prometheus durations (`90s`, `5m`, `1h30m`, `1d`) to seconds and back. The server accepts
// either form; the UI shows and takes the text form.

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g

/** Seconds in `text` (`5m`, `1h30m`, or a plain number of seconds); null when not a duration. */
export function parseDuration(text: string): number | null {
  const t = text.trim()
  if (!t) return null
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t)
  if (!DURATION.test(t)) return null
  let seconds = 0
  for (const [, amount, unit] of t.matchAll(PART)) seconds += Number(amount) * UNITS[unit!]!
  return seconds
}

/** `3600` -> `1h`, `5400` -> `1h30m`, `0` -> `0s`, `0.5` -> `500ms`. */
export function promDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return ''
  if (seconds <= 0) return '0s'
  let rest = Math.round(seconds * 1000)
  let out = ''
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) {
      out += `${n}${unit}`
      rest -= n * size
    }
  }
  return out
}
