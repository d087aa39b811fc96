import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import { api, call } from '@/api/client'
import type { FileRead, RetryResult, RetryState, RetryWithFile } from '@/api/types'
import { pagedList } from '@/ui/paged'

export interface RetryFilters {
  statuses: RetryState[]
  /** '' any, or one step. */
  type: '' | 'upload' | 'analysis' | 'ai_analysis'
  /** '' any, 'manual', 'automatic'. */
  kind: '' | 'manual' | 'automatic'
}

/** Retry management: the failed files (to retry), and the retry history across files. */
export const useDumpRetriesStore = defineStore('dumpRetries', () => {
  const failed = pagedList<FileRead>((cursor, limit, quiet) => {
    const query = { limit, cursor, status: ['failed' as const] }
    return call(api.GET('/api/v1/files', { params: { query } }), { quiet })
  }, 50)
  const selected = ref<number[]>([])

  const filters = reactive<RetryFilters>({ statuses: [], type: '', kind: '' })
  const history = pagedList<RetryWithFile>((cursor, limit, quiet) => {
    const query = {
      limit,
      cursor,
      status: filters.statuses.length ? [...filters.statuses] : undefined,
      type: filters.type || undefined,
      manual: filters.kind === '' ? undefined : filters.kind === 'manual',
    }
    return call(api.GET('/api/v1/dumps/retries', { params: { query } }), { quiet })
  }, 50)

  async function load(): Promise<void> {
    await Promise.all([failed.load(), history.load()])
  }

  async function refresh(): Promise<void> {
    await Promise.all([failed.refresh(), history.refresh()])
  }

  async function retry(fileIds: number[]): Promise<RetryResult[]> {
    const results = await call(api.POST('/api/v1/files/retry', { body: { file_ids: fileIds } }))
    await refresh()
    return results
  }

  return { failed, selected, filters, history, load, refresh, retry }
})
