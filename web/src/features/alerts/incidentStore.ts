import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { api, ApiError, call } from '@/api/client'
import type { IncidentDetail, IncidentEventRead } from '@/api/types'

/** The incident on its page: the record, its alerts and its timeline. */
export const useIncidentStore = defineStore('incident', () => {
  const incident = shallowRef<IncidentDetail | null>(null)
  const events = shallowRef<IncidentEventRead[]>([])
  const loading = ref(false)
  const notFound = ref(false)
  const error = ref<string | null>(null)

  const path = (id: number) => ({ params: { path: { incident_id: id } } })

  async function fetchAll(id: number, quiet: boolean): Promise<void> {
    const [detail, timeline] = await Promise.all([
      call(api.GET('/api/v1/incidents/{incident_id}', path(id)), { quiet: true }),
      // The timeline is short (opened, alerts, ack, escalation, resolved): one page of 500.
      call(api.GET('/api/v1/incidents/{incident_id}/events', { params: { path: { incident_id: id }, query: { limit: 500 } } }), { quiet }),
    ])
    incident.value = detail
    events.value = timeline.items
  }

  async function load(id: number): Promise<void> {
    loading.value = true
    notFound.value = false
    error.value = null
    incident.value = null
    events.value = []
    try {
      await fetchAll(id, true)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) notFound.value = true
      else error.value = e instanceof ApiError ? `${e.message} (${e.code})` : String(e)
    } finally {
      loading.value = false
    }
  }

  async function refresh(): Promise<void> {
    if (!incident.value || loading.value) return
    try {
      await fetchAll(incident.value.id, true)
    } catch {
      // keep what is shown; the next tick tries again
    }
  }

  async function acknowledge(comment: string): Promise<void> {
    await call(api.POST('/api/v1/incidents/{incident_id}/ack', { ...path(incident.value!.id), body: { comment } }))
    await refresh()
  }

  async function resolve(comment: string): Promise<void> {
    await call(api.POST('/api/v1/incidents/{incident_id}/resolve', { ...path(incident.value!.id), body: { comment } }))
    await refresh()
  }

  return { incident, events, loading, notFound, error, load, refresh, acknowledge, resolve }
})
