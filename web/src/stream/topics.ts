// What the stream's topics carry: the server's snapshot models (also served by
// GET /api/v1/fleet/snapshot and /nodes/{id}/snapshot, so they are in the OpenAPI schema).
// A topic whose subject is gone sends `{"error": ...}` instead (server fleet/snapshots.py).
import { onBeforeUnmount, watch, type WatchSource } from 'vue'
import type { components } from '@/api/schema'
import { liveStream } from './connection'

export type FleetSnapshot = components['schemas']['FleetSnapshot']
export type NodeSnapshot = components['schemas']['NodeSnapshot'] | { error: string }
/**
 * The `dumps` topic (server dumps/snapshots.py): file counts by state and the 20 newest files.
 * The server declares no model for it, so only its file rows come from the schema.
 */
export interface DumpsSnapshot {
  by_status: Record<string, number>
  newest: components['schemas']['FileRead'][]
}

export const fleetTopic = (): string => 'fleet'
export const nodeTopic = (nodeId: string): string => `node:${nodeId}`
export const dumpsTopic = (): string => 'dumps'

/**
 * Subscribe to a topic while the calling component is mounted; a reactive topic re-subscribes
 * when it changes (null: no subscription).
 */
export function useTopic<T>(topic: WatchSource<string | null>, handler: (data: T) => void): void {
  let unsubscribe: (() => void) | null = null
  watch(
    topic,
    (name) => {
      unsubscribe?.()
      unsubscribe = name ? liveStream.subscribe(name, (data) => handler(data as T)) : null
    },
    { immediate: true },
  )
  onBeforeUnmount(() => unsubscribe?.())
}
