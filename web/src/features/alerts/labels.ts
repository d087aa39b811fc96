// Label matchers as Alertmanager writes them, and matching them in the browser (to show which
// firing alerts a silence being written would cover).
import type { Matcher } from '@/api/types'

export const MATCH_OPS = ['=', '!=', '=~', '!~'] as const

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}"${m.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function formatMatchers(list: Matcher[]): string {
  return `{${list.map(formatMatcher).join(', ')}}`
}

/** Prometheus anchors regex matchers: `=~"web.*"` must match the whole value. */
function anchored(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`)
  } catch {
    return null
  }
}

export function matcherMatches(m: Matcher, labels: Record<string, string>): boolean {
  const value = labels[m.name] ?? ''
  switch (m.op) {
    case '=':
      return value === m.value
    case '!=':
      return value !== m.value
    case '=~':
      return anchored(m.value)?.test(value) ?? false
    case '!~':
      return !(anchored(m.value)?.test(value) ?? true)
    default:
      return false
  }
}

export function matchesAll(list: Matcher[], labels: Record<string, string>): boolean {
  return list.length > 0 && list.every((m) => matcherMatches(m, labels))
}

/** Matchers a silence would accept: named, a known operator, regexes that compile. */
export function matcherProblems(list: Matcher[]): string[] {
  const problems: string[] = []
  list.forEach((m, i) => {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name)) problems.push(`matcher ${i + 1}: label name "${m.name}" is not valid`)
    if ((m.op === '=~' || m.op === '!~') && !anchored(m.value)) problems.push(`matcher ${i + 1}: bad regular expression`)
  })
  return problems
}

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const
