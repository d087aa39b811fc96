import { defineStore } from 'pinia'
import { reactive } from 'vue'
import { api, call } from '@/api/client'
import type { AlertEventRead, AlertState, IncidentRead, IncidentState } from '@/api/types'
import { pagedList } from '@/ui/paged'

/** What happened: every alert state change, and every incident (any state). */
export const useAlertHistoryStore = defineStore('alertHistory', () => {
  const eventFilters = reactive<{ toState: AlertState | ''; ruleId: number | null; alertId: number | null }>({
    toState: '',
    ruleId: null,
    alertId: null,
  })
  const events = pagedList<AlertEventRead>((cursor, limit, quiet) => {
    const query = {
      limit,
      cursor,
      to_state: eventFilters.toState || undefined,
      rule_id: eventFilters.ruleId ?? undefined,
      alert_id: eventFilters.alertId ?? undefined,
    }
    return call(api.GET('/api/v1/alerts/history', { params: { query } }), { quiet })
  }, 100)

  const incidentFilters = reactive<{ states: IncidentState[]; severity: string; search: string }>({
    states: [],
    severity: '',
    search: '',
  })
  const incidents = pagedList<IncidentRead>((cursor, limit, quiet) => {
    const query = {
      limit,
      cursor,
      state: incidentFilters.states.length ? incidentFilters.states : undefined,
      severity: incidentFilters.severity || undefined,
      search: incidentFilters.search.trim() || undefined,
    }
    return call(api.GET('/api/v1/incidents', { params: { query } }), { quiet })
  })

  return { eventFilters, events, incidentFilters, incidents }
})
