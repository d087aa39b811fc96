import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import { api, call } from '@/api/client'
import type { AuditEntryRead } from '@/api/types'

const PAGE_SIZE = 50

export interface AuditFilters {
  actor: string
  /** A prefix: `user.` matches every user action. */
  action: string
  targetType: string
  targetId: string
  /** [since, until] as Dates, or null for all time. */
  range: [Date, Date] | null
}

export const useAuditStore = defineStore('audit', () => {
  const filters = reactive<AuditFilters>({ actor: '', action: '', targetType: '', targetId: '', range: null })
  const items = ref<AuditEntryRead[]>([])
  const nextCursor = ref<string | null>(null)
  const loading = ref(false)
  const loaded = ref(false)

  function query(cursor: string | null) {
    const text = (v: string) => v.trim() || undefined
    return {
      limit: PAGE_SIZE,
      cursor,
      actor: text(filters.actor),
      action: text(filters.action),
      target_type: text(filters.targetType),
      target_id: text(filters.targetId),
      since: filters.range ? filters.range[0].toISOString() : undefined,
      until: filters.range ? filters.range[1].toISOString() : undefined,
    }
  }

  async function load(): Promise<void> {
    loading.value = true
    try {
      const page = await call(api.GET('/api/v1/audit', { params: { query: query(null) } }))
      items.value = page.items
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
      loaded.value = true
    }
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor.value) return
    loading.value = true
    try {
      const page = await call(api.GET('/api/v1/audit', { params: { query: query(nextCursor.value) } }))
      items.value = [...items.value, ...page.items]
      nextCursor.value = page.next_cursor ?? null
    } finally {
      loading.value = false
    }
  }

  function reset(): void {
    Object.assign(filters, { actor: '', action: '', targetType: '', targetId: '', range: null })
  }

  return { filters, items, nextCursor, loading, loaded, load, loadMore, reset }
})
