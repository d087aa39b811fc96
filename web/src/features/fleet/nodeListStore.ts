import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { api, call } from '@/api/client'
import type { NodeRead, NodeSort, NodeStatus } from '@/api/types'

export const PAGE_SIZE = 50
const MAX_LIMIT = 500

export interface NodeFilters {
  search: string
  statuses: NodeStatus[]
  /** Space- or comma-separated `key=value` pairs, all of which must match. */
  labels: string
  /** name, status, last_seen_at, created_at; `-` prefix for descending. */
  sort: NodeSort
}

export function parseLabelFilter(text: string): { pairs: string[]; invalid: string[] } {
  const parts = text.split(/[\s,]+/).filter(Boolean)
  const valid = (p: string) => /^[A-Za-z_][A-Za-z0-9_]*=.*$/.test(p)
  return { pairs: parts.filter(valid), invalid: parts.filter((p) => !valid(p)) }
}

/** The node list: filters, sort and the pages loaded so far (kept while visiting a node). */
export const useNodeListStore = defineStore('nodeList', () => {
  const filters = reactive<NodeFilters>({ search: '', statuses: [], labels: '', sort: 'name' })
  const items = ref<NodeRead[]>([])
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<string | null>(null)

  const labelFilter = computed(() => parseLabelFilter(filters.labels))

  function query(limit: number, cursor: string | null) {
    return {
      limit,
      cursor,
      sort: filters.sort,
      search: filters.search.trim() || undefined,
      status: filters.statuses.length ? filters.statuses : undefined,
      label: labelFilter.value.pairs.length ? labelFilter.value.pairs : undefined,
    }
  }

  async function fetchPage(limit: number, cursor: string | null, quiet = false) {
    return call(api.GET('/api/v1/nodes', { params: { query: query(limit, cursor) } }), { quiet })
  }

  /** The first page for the current filters. */
  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const page = await fetchPage(PAGE_SIZE, null)
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
    } catch (e) {
      error.value = String(e)
      items.value = []
      nextCursor.value = null
    } finally {
      loading.value = false
      loaded.value = true
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value || loading.value) return
    loading.value = true
    try {
      const page = await fetchPage(PAGE_SIZE, nextCursor.value)
      const seen = new Set(items.value.map((n) => n.id))
      items.value = [...items.value, ...page.items.filter((n) => !seen.has(n.id))]
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  /** Live refresh: re-read as many rows as are shown, quietly (a failed refresh keeps the rows). */
  async function refresh(): Promise<void> {
    if (loading.value) return
    const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, items.value.length))
    try {
      const page = await fetchPage(limit, null, true)
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
      error.value = null
    } catch {
      // the next status change or the next manual action tries again
    }
  }

  return { filters, items, nextCursor, loading, loaded, error, labelFilter, load, loadMore, refresh }
})
