import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, call } from '@/api/client'
import type { EnrollmentTokenCreate, EnrollmentTokenCreated, EnrollmentTokenRead } from '@/api/types'

export const useEnrollmentStore = defineStore('enrollment', () => {
  const tokens = ref<EnrollmentTokenRead[]>([])
  const loading = ref(false)
  const loaded = ref(false)
  /** The token just created: its secret is shown once, then only its prefix exists. */
  const created = ref<EnrollmentTokenCreated | null>(null)

  async function load(): Promise<void> {
    loading.value = true
    try {
      tokens.value = await call(api.GET('/api/v1/agents/enrollment-tokens'))
    } finally {
      loading.value = false
      loaded.value = true
    }
  }

  async function create(body: EnrollmentTokenCreate): Promise<EnrollmentTokenCreated> {
    created.value = await call(api.POST('/api/v1/agents/enrollment-tokens', { body }))
    await load()
    return created.value
  }

  async function revoke(id: number): Promise<void> {
    const token = await call(
      api.DELETE('/api/v1/agents/enrollment-tokens/{token_id}', { params: { path: { token_id: id } } }),
    )
    tokens.value = tokens.value.map((t) => (t.id === id ? token : t))
  }

  return { tokens, loading, loaded, created, load, create, revoke }
})
