// Pages whose data has no stream topic (alerting) re-read it every few seconds
// while they are open and the tab is visible.
import { onBeforeUnmount, onMounted } from 'vue'

export const POLL_MS = 5000

export function usePoll(refresh: () => Promise<unknown>, everyMs = POLL_MS): void {
  let timer: ReturnType<typeof setInterval> | null = null
  let busy = false
  async function tick(): Promise<void> {
    if (busy || document.hidden) return
    busy = true
    try {
      await refresh()
    } catch {
      // quiet: the next tick tries again
    } finally {
      busy = false
    }
  }
  onMounted(() => {
    timer = setInterval(() => void tick(), everyMs)
  })
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer)
  })
}
