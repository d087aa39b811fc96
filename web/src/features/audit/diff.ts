// Before/after of an audit entry as rows: one per key present on either side.
export interface DiffRow {
  key: string
  before: string | null
  after: string | null
  changed: boolean
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export function diffRows(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): DiffRow[] {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort()
  return keys.map((key) => {
    const b = before && key in before ? show(before[key]) : null
    const a = after && key in after ? show(after[key]) : null
    return { key, before: b, after: a, changed: b !== a }
  })
}
