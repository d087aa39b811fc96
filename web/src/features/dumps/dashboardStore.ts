import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { api, ApiError, call } from '@/api/client'
import type { DashboardStats, ReportStats } from '@/api/types'

/** The pipeline's figures: today's dumps and failures, processing time, top apps, reports. */
export const useDumpDashboardStore = defineStore('dumpDashboard', () => {
  const stats = shallowRef<DashboardStats | null>(null)
  const reports = shallowRef<ReportStats | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function fetchAll(quiet: boolean): Promise<void> {
    const [s, r] = await Promise.all([
      call(api.GET('/api/v1/dumps/stats'), { quiet }),
      call(api.GET('/api/v1/reports/stats'), { quiet }),
    ])
    stats.value = s
    reports.value = r
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      await fetchAll(true)
    } catch (e) {
      error.value = e instanceof ApiError ? `${e.message} (${e.code})` : String(e)
    } finally {
      loading.value = false
    }
  }

  async function refresh(): Promise<void> {
    if (loading.value) return
    try {
      await fetchAll(true)
    } catch {
      // keep what is shown
    }
  }

  return { stats, reports, loading, error, load, refresh }
})
