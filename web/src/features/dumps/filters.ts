// The file list's filters: the API query they make, the CSV export link, and the page URL
// that holds them (so the dashboard can link to "failed files of app shop"). Pure: no Vue.
import type { FileState } from '@/api/types'

export const FILE_STATES: FileState[] = ['created', 'uploading', 'uploaded', 'analyzing', 'analyzed', 'failed']

export interface FileFilters {
  statuses: FileState[]
  search: string
  app: string
  namespace: string
  node: string
  /** Created at or after / before (ISO strings), either may be empty. */
  since: string
  until: string
}

export function emptyFilters(): FileFilters {
  return { statuses: [], search: '', app: '', namespace: '', node: '', since: '', until: '' }
}

const TEXT_KEYS = ['search', 'app', 'namespace', 'node', 'since', 'until'] as const

/** The `GET /api/v1/files` (and export) query of these filters: blanks left out. */
export function fileQuery(filters: FileFilters): {
  status?: FileState[]
  search?: string
  app?: string
  namespace?: string
  node?: string
  since?: string
  until?: string
} {
  const query: Record<string, string | FileState[]> = {}
  if (filters.statuses.length) query.status = [...filters.statuses]
  for (const key of TEXT_KEYS) {
    const value = filters[key].trim()
    if (value) query[key] = value
  }
  return query
}

/** The CSV export of what the list shows (every page), as a same-origin link. */
export function exportHref(filters: FileFilters, base = '/api/v1/files/export.csv'): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(fileQuery(filters))) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v)
  }
  const text = params.toString()
  return text ? `${base}?${text}` : base
}

type RouteQuery = Record<string, string | null | (string | null)[] | undefined>

function all(value: RouteQuery[string]): string[] {
  if (value === undefined || value === null) return []
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string')
}

/** Filters from the page URL (`?status=failed&status=analyzed&app=shop`); unknown states dropped. */
export function filtersFromQuery(query: RouteQuery): FileFilters {
  const filters = emptyFilters()
  filters.statuses = all(query.status).filter((s): s is FileState => (FILE_STATES as string[]).includes(s))
  for (const key of TEXT_KEYS) filters[key] = all(query[key])[0] ?? ''
  return filters
}

/** The page URL's query for these filters (what `filtersFromQuery` reads back). */
export function queryFromFilters(filters: FileFilters): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  if (filters.statuses.length) query.status = [...filters.statuses]
  for (const key of TEXT_KEYS) if (filters[key].trim()) query[key] = filters[key].trim()
  return query
}

export function sameFilters(a: FileFilters, b: FileFilters): boolean {
  return JSON.stringify(queryFromFilters(a)) === JSON.stringify(queryFromFilters(b))
}
