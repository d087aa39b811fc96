import { defineStore } from 'pinia'
import { reactive } from 'vue'
import { api, call } from '@/api/client'
import type { AlertRead, AlertState, IncidentRead, IncidentState, SilenceRead } from '@/api/types'
import { pagedList } from '@/ui/paged'

export interface AlertFilters {
  search: string
  severity: string
  /** firing and pending by default: what is going on now. */
  states: AlertState[]
}

export interface SilenceFromAlert {
  duration: string
  comment: string
  /** Which of the alert's labels to match on (all when empty). */
  labelNames: string[]
}

const text = (v: string) => v.trim() || undefined

/** What is going on now: active alerts and open (or acknowledged) incidents. */
export const useAlertsStore = defineStore('alerts', () => {
  const filters = reactive<AlertFilters>({ search: '', severity: '', states: ['firing', 'pending'] })

  const alerts = pagedList<AlertRead>((cursor, limit, quiet) => {
    const query = {
      limit,
      cursor,
      state: filters.states.length ? filters.states : undefined,
      severity: text(filters.severity),
      search: text(filters.search),
    }
    return call(api.GET('/api/v1/alerts', { params: { query } }), { quiet })
  }, 100)

  const incidents = pagedList<IncidentRead>((cursor, limit, quiet) => {
    const query = { limit, cursor, state: ['open', 'acknowledged'] as IncidentState[] }
    return call(api.GET('/api/v1/incidents', { params: { query } }), { quiet })
  }, 100)

  async function load(): Promise<void> {
    await Promise.all([alerts.load(), incidents.load()])
  }

  async function refresh(): Promise<void> {
    await Promise.all([alerts.refresh(), incidents.refresh()])
  }

  function replaceIncident(incident: IncidentRead): void {
    incidents.items.value = incidents.items.value.map((i) => (i.id === incident.id ? incident : i))
  }

  async function acknowledge(incidentId: number, comment = ''): Promise<IncidentRead> {
    const path = { incident_id: incidentId }
    const incident = await call(api.POST('/api/v1/incidents/{incident_id}/ack', { params: { path }, body: { comment } }))
    replaceIncident(incident)
    return incident
  }

  async function resolve(incidentId: number, comment = ''): Promise<IncidentRead> {
    const path = { incident_id: incidentId }
    const incident = await call(api.POST('/api/v1/incidents/{incident_id}/resolve', { params: { path }, body: { comment } }))
    incidents.items.value = incidents.items.value.filter((i) => i.id !== incidentId)
    return incident
  }

  async function silence(alertId: number, spec: SilenceFromAlert): Promise<SilenceRead> {
    const body = {
      duration: spec.duration,
      comment: spec.comment,
      label_names: spec.labelNames.length ? spec.labelNames : null,
    }
    const created = await call(api.POST('/api/v1/alerts/{alert_id}/silence', { params: { path: { alert_id: alertId } }, body }))
    await alerts.refresh()
    return created
  }

  return { filters, alerts, incidents, load, refresh, acknowledge, resolve, silence }
})
