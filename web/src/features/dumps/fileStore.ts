import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { api, ApiError, call } from '@/api/client'
import type { FileDetail, ReportLink, RetryResult } from '@/api/types'

/** One file on its page: the record with its processing and retry history, and its report link. */
export const useDumpFileStore = defineStore('dumpFile', () => {
  const file = shallowRef<FileDetail | null>(null)
  const link = shallowRef<ReportLink | null>(null)
  const loading = ref(false)
  const notFound = ref(false)
  const error = ref<string | null>(null)

  const path = (id: number) => ({ params: { path: { file_id: id } } })

  async function fetchLink(id: number): Promise<void> {
    try {
      link.value = await call(api.GET('/api/v1/reports/{file_id}', path(id)), { quiet: true })
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) link.value = null
      else throw e
    }
  }

  async function fetchAll(id: number): Promise<void> {
    const detail = await call(api.GET('/api/v1/files/{file_id}', path(id)), { quiet: true })
    file.value = detail
    if (detail.report) await fetchLink(id)
    else link.value = null
  }

  async function load(id: number): Promise<void> {
    loading.value = true
    notFound.value = false
    error.value = null
    file.value = null
    link.value = null
    try {
      await fetchAll(id)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) notFound.value = true
      else error.value = e instanceof ApiError ? `${e.message} (${e.code})` : String(e)
    } finally {
      loading.value = false
    }
  }

  /** Re-read quietly (the page's live updates): a failed refresh keeps what is shown. */
  async function refresh(): Promise<void> {
    if (!file.value || loading.value) return
    try {
      await fetchAll(file.value.id)
    } catch {
      // the next update tries again
    }
  }

  async function retry(): Promise<RetryResult> {
    const result = await call(api.POST('/api/v1/files/{file_id}/retry', path(file.value!.id)))
    await refresh()
    return result
  }

  /** A new report link; the previous one stops working at once. */
  async function refreshLink(): Promise<ReportLink> {
    const fresh = await call(api.POST('/api/v1/reports/{file_id}/refresh', path(file.value!.id)))
    link.value = fresh
    return fresh
  }

  return { file, link, loading, notFound, error, load, refresh, retry, refreshLink }
})
