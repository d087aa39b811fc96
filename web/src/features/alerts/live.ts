// The alerting pages follow the `alerts` stream topic (server alerts/snapshots.py). The server
// touches it whenever an alert, incident, rule, rule's health or silence changes, so each
// snapshot after the first says "re-read what you show". A slow poll stays as the fallback:
// every 30 s while the stream is up (changes made through another server process do not reach
// this one's stream), every 5 s while it is down, never while the tab is hidden.
import { defineStore } from 'pinia'
import { onBeforeUnmount, onMounted, shallowRef } from 'vue'
import { api, call } from '@/api/client'
import type { components } from '@/api/schema'
import { liveStream } from '@/stream/connection'
import { useTopic } from '@/stream/topics'

export type AlertsSummary = components['schemas']['AlertsSummary']
export const alertsTopic = (): string => 'alerts'

const CHECK_MS = 5_000
const SLOW_POLL_MS = 30_000

/** Call `tick` every few seconds while mounted and visible; it decides whether to act. */
function useTicker(tick: () => void): void {
  let timer: ReturnType<typeof setInterval> | null = null
  onMounted(() => {
    timer = setInterval(() => !document.hidden && tick(), CHECK_MS)
  })
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer)
  })
}

const streamDown = (): boolean => liveStream.state.value !== 'open'

/** Re-read a page's data on every change the stream announces, and on the fallback poll. */
export function useAlertChanges(refresh: () => Promise<unknown>): void {
  let seen = false
  let busy = false
  let again = false
  let last = Date.now()

  async function run(): Promise<void> {
    if (busy) {
      again = true // a change came in while reading: read once more afterwards
      return
    }
    busy = true
    try {
      await refresh()
    } catch {
      // quiet: what is shown stays; the next change or poll tries again
    } finally {
      busy = false
      last = Date.now()
    }
    if (again) {
      again = false
      void run()
    }
  }

  useTopic<AlertsSummary>(alertsTopic, () => {
    // The first snapshot comes with subscribing (or is replayed): the page has just loaded.
    if (seen) void run()
    seen = true
  })
  useTicker(() => {
    if (streamDown() || Date.now() - last >= SLOW_POLL_MS) void run()
  })
}

/** The newest summary (counts for badges and headers), shared by whoever shows it. */
export const useAlertSummaryStore = defineStore('alertSummary', () => {
  const summary = shallowRef<AlertsSummary | null>(null)

  async function fetch(): Promise<void> {
    try {
      summary.value = await call(api.GET('/api/v1/alerts/summary'), { quiet: true })
    } catch {
      // keep the last one
    }
  }

  return { summary, fetch }
})

/** Keep the summary store current while the calling component is mounted. */
export function useAlertSummary(): ReturnType<typeof useAlertSummaryStore> {
  const store = useAlertSummaryStore()
  let last = 0
  useTopic<AlertsSummary>(alertsTopic, (snapshot) => {
    store.summary = snapshot
    last = Date.now()
  })
  onMounted(() => {
    if (!store.summary) void store.fetch()
  })
  useTicker(() => {
    if (Date.now() - last >= (streamDown() ? CHECK_MS : SLOW_POLL_MS)) {
      last = Date.now()
      void store.fetch()
    }
  })
  return store
}
