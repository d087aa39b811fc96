// A cursor-paged list (`{items, next_cursor}`): the first page for the current filters, then
// "Load more". Stores build on it so every list pages the same way.
import { ref, shallowRef, type Ref } from 'vue'

export interface Page<T> {
  items: T[]
  next_cursor?: string | null
}

export interface PagedList<T> {
  items: Ref<T[]>
  nextCursor: Ref<string | null>
  loading: Ref<boolean>
  loaded: Ref<boolean>
  load: () => Promise<void>
  loadMore: () => Promise<void>
  /** Re-read as many rows as are shown, quietly (a failed refresh keeps the rows). */
  refresh: () => Promise<void>
}

export function pagedList<T>(
  fetchPage: (cursor: string | null, limit: number, quiet: boolean) => Promise<Page<T>>,
  pageSize = 50,
): PagedList<T> {
  const items = shallowRef<T[]>([]) as Ref<T[]>
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)

  async function load(): Promise<void> {
    loading.value = true
    try {
      const page = await fetchPage(null, pageSize, false)
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
      loaded.value = true
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value || loading.value) return
    loading.value = true
    try {
      const page = await fetchPage(nextCursor.value, pageSize, false)
      items.value = [...items.value, ...page.items]
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  async function refresh(): Promise<void> {
    if (loading.value) return
    const limit = Math.min(500, Math.max(pageSize, items.value.length))
    try {
      const page = await fetchPage(null, limit, true)
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
      loaded.value = true
    } catch {
      // the next tick or a manual reload tries again
    }
  }

  return { items, nextCursor, loading, loaded, load, loadMore, refresh }
}
