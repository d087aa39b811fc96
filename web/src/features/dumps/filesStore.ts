import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { api, call } from '@/api/client'
import type { FileRead, RetryResult } from '@/api/types'
import { pagedList } from '@/ui/paged'
import { emptyFilters, exportHref, fileQuery, type FileFilters } from './filters'

/** The file list: filters, the pages loaded so far, the rows ticked for a batch retry. */
export const useDumpFilesStore = defineStore('dumpFiles', () => {
  const filters = reactive<FileFilters>(emptyFilters())
  const selected = ref<number[]>([])

  const files = pagedList<FileRead>((cursor, limit, quiet) => {
    const query = { limit, cursor, ...fileQuery(filters) }
    return call(api.GET('/api/v1/files', { params: { query } }), { quiet })
  }, 50)

  const exportLink = computed(() => exportHref(filters))

  function setFilters(next: FileFilters): void {
    Object.assign(filters, next)
  }

  /** Retry the ticked files; each result says what was redone or why nothing was. */
  async function retrySelected(): Promise<RetryResult[]> {
    const results = await call(api.POST('/api/v1/files/retry', { body: { file_ids: [...selected.value] } }))
    await files.refresh()
    return results
  }

  return { filters, selected, files, exportLink, setFilters, retrySelected }
})
