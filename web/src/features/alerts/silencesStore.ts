import { defineStore } from 'pinia'
import { reactive } from 'vue'
import { api, call } from '@/api/client'
import type { SilenceCreate, SilenceRead } from '@/api/types'
import { pagedList } from '@/ui/paged'

export type SilenceState = '' | 'active' | 'pending' | 'scheduled' | 'expired'

export const useSilencesStore = defineStore('silences', () => {
  const filters = reactive<{ state: SilenceState; search: string }>({ state: '', search: '' })

  const silences = pagedList<SilenceRead>((cursor, limit, quiet) => {
    const query = { limit, cursor, state: filters.state || undefined, search: filters.search.trim() || undefined }
    return call(api.GET('/api/v1/alerts/silences', { params: { query } }), { quiet })
  })

  async function create(body: SilenceCreate): Promise<SilenceRead> {
    const silence = await call(api.POST('/api/v1/alerts/silences', { body }))
    await silences.load()
    return silence
  }

  async function expire(id: number): Promise<SilenceRead> {
    const silence = await call(api.DELETE('/api/v1/alerts/silences/{silence_id}', { params: { path: { silence_id: id } } }))
    silences.items.value = silences.items.value.map((s) => (s.id === id ? silence : s))
    return silence
  }

  return { filters, silences, create, expire }
})
