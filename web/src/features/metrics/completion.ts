// PromQL autocompletion without a parser: a small scanner finds what the cursor is in (a
// selector's braces, a label value's quotes, a `by (...)` list, or the open expression) and
// which metric that selector belongs to. Pure functions; the fetching lives in catalog.ts.

export type CompletionContext =
  /** An identifier in the open expression: metric names, functions, keywords. */
  | { kind: 'metric'; prefix: string; from: number }
  /** A label name inside `metric{...}` or `by (...)` (metric null: any series). */
  | { kind: 'label-name'; prefix: string; from: number; metric: string | null; inBraces: boolean }
  /** A label value inside quotes after `label=`, `label=~`, ... */
  | { kind: 'label-value'; prefix: string; from: number; label: string; metric: string | null; closed: boolean }

export type SuggestionKind = 'metric' | 'function' | 'keyword' | 'label' | 'value'

export interface Suggestion {
  text: string
  kind: SuggestionKind
  detail?: string
}

const IDENT_TAIL = /[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_TAIL_START = /^[a-zA-Z0-9_:]*/
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*$/

export const FUNCTIONS = [
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max',
  'clamp_min', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month',
  'delta', 'deriv', 'exp', 'floor', 'histogram_quantile', 'holt_winters', 'hour', 'idelta',
  'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2',
  'max_over_time', 'min_over_time', 'minute', 'month', 'predict_linear', 'present_over_time',
  'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt',
  'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'time', 'timestamp', 'vector', 'year',
]
export const AGGREGATIONS = [
  'avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'stddev', 'stdvar',
  'sum', 'topk',
]
export const KEYWORDS = ['and', 'bool', 'by', 'group_left', 'group_right', 'ignoring', 'offset', 'on', 'or', 'unless', 'without']

interface Scan {
  /** Index of the innermost unclosed `{`, `(` or `[`, or -1. */
  open: number
  openChar: string
  /** Index of the opening quote when the cursor is inside a string, or -1. */
  quote: number
}

/** Walk `text` up to its end, tracking strings (with escapes) and unclosed brackets. */
function scan(text: string): Scan {
  const stack: number[] = []
  let quote = -1
  let quoteChar = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote >= 0) {
      if (c === '\\') i++
      else if (c === quoteChar) quote = -1
      continue
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = i
      quoteChar = c
    } else if (c === '{' || c === '(' || c === '[') {
      stack.push(i)
    } else if (c === '}' || c === ')' || c === ']') {
      stack.pop()
    } else if (c === '#') {
      // a comment runs to the end of the line
      const end = text.indexOf('\n', i)
      if (end < 0) break
      i = end
    }
  }
  const open = stack.length ? stack[stack.length - 1]! : -1
  return { open, openChar: open >= 0 ? text[open]! : '', quote }
}

/** The metric name right before a selector's `{` (null for `{__name__=...}` alone). */
function metricBefore(text: string, brace: number): string | null {
  const match = IDENT_TAIL.exec(text.slice(0, brace).trimEnd())
  return match ? match[0] : null
}

function labelValueContext(before: string, s: Scan, after: string): CompletionContext | null {
  if (s.open < 0 || s.openChar !== '{') return null
  const head = before.slice(0, s.quote)
  const m = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(head)
  if (!m) return null
  const prefix = before.slice(s.quote + 1)
  const quoteChar = before[s.quote]!
  return {
    kind: 'label-value',
    prefix,
    from: s.quote + 1,
    label: m[1]!,
    metric: metricBefore(before, s.open),
    closed: after.startsWith(quoteChar),
  }
}

/** What to complete at `cursor` in `text`, or null where nothing fits (numbers, durations). */
export function completionContext(text: string, cursor: number): CompletionContext | null {
  const before = text.slice(0, cursor)
  const after = text.slice(cursor)
  const s = scan(before)
  if (s.quote >= 0) return labelValueContext(before, s, after)
  if (s.openChar === '[') return null // a range or subquery duration
  if (s.openChar === '{') {
    const inside = before.slice(s.open + 1)
    const m = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside)
    if (!m) return null
    const prefix = m[1] ?? ''
    return { kind: 'label-name', prefix, from: cursor - prefix.length, metric: metricBefore(before, s.open), inBraces: true }
  }
  if (s.openChar === '(' && GROUPING.test(before.slice(0, s.open))) {
    const m = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(before.slice(s.open + 1))
    if (!m) return null
    const prefix = m[1] ?? ''
    return { kind: 'label-name', prefix, from: cursor - prefix.length, metric: null, inBraces: false }
  }
  const m = IDENT_TAIL.exec(before)
  const prefix = m ? m[0] : ''
  // Not after a digit (1e3, 5m) and not in the middle of a word the cursor splits.
  const start = cursor - prefix.length
  if (start > 0 && /[0-9.]/.test(before[start - 1]!)) return null
  return { kind: 'metric', prefix, from: start }
}

/** Candidates containing `prefix` (case-insensitive): an exact match, then those starting with it. */
export function rank(candidates: Suggestion[], prefix: string, limit = 50): Suggestion[] {
  const p = prefix.toLowerCase()
  const exact: Suggestion[] = []
  const starts: Suggestion[] = []
  const contains: Suggestion[] = []
  for (const c of candidates) {
    const t = c.text.toLowerCase()
    if (t === p) exact.push(c)
    else if (t.startsWith(p)) starts.push(c)
    else if (p && t.includes(p)) contains.push(c)
    if (starts.length >= limit) break
  }
  return [...exact, ...starts, ...contains].slice(0, limit)
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** The text with the suggestion put in, and where the cursor goes. */
export function applySuggestion(
  text: string,
  cursor: number,
  context: CompletionContext,
  suggestion: Suggestion,
): { text: string; cursor: number } {
  const tailMatch = (context.kind === 'label-value' ? /^[^"\\]*/ : LABEL_TAIL_START).exec(text.slice(cursor))
  const end = cursor + (tailMatch ? tailMatch[0].length : 0) // replace the rest of the word too
  let insert = suggestion.text
  let caret = insert.length
  if (context.kind === 'label-value') {
    // After the value the cursor is past its closing quote (added here when missing).
    insert = escapeLabelValue(suggestion.text) + (context.closed ? '' : '"')
    caret = insert.length + (context.closed ? 1 : 0)
  } else if (context.kind === 'label-name' && context.inBraces && !/^\s*(=|!=|=~|!~)/.test(text.slice(end))) {
    insert += '="'
    caret = insert.length
    insert += '"'
  } else if (suggestion.kind === 'function' || (suggestion.kind === 'keyword' && AGGREGATIONS.includes(suggestion.text))) {
    if (!text.slice(end).startsWith('(')) {
      insert += '()'
      caret = insert.length - 1
    }
  }
  const next = text.slice(0, context.from) + insert + text.slice(end)
  return { text: next, cursor: context.from + caret }
}

/** `metric{a="b", c="d"}` (Prometheus's notation for a series). */
export function seriesName(labels: Record<string, string>): string {
  const name = labels.__name__ ?? ''
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`)
  if (!rest.length) return name || '{}'
  return `${name}{${rest.join(', ')}}`
}
