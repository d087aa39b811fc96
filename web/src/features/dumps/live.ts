// The dump pages follow the `dumps` stream topic as a change signal: each snapshot that differs
// from the last one re-reads what the page shows (at most once per `minMs`). The snapshot sent
// on subscribing is skipped: the page has just loaded.
import { onBeforeUnmount } from 'vue'
import { dumpsTopic, useTopic, type DumpsSnapshot } from '@/stream/topics'

export function useDumpChanges(refresh: () => Promise<unknown>, minMs = 1000): void {
  let last: string | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  useTopic<DumpsSnapshot>(dumpsTopic, (snapshot) => {
    const text = JSON.stringify(snapshot)
    const first = last === null
    if (text === last) return
    last = text
    if (first || timer) return
    timer = setTimeout(() => {
      timer = null
      void refresh().catch(() => undefined)
    }, minMs)
  })
  onBeforeUnmount(() => {
    if (timer) clearTimeout(timer)
  })
}
