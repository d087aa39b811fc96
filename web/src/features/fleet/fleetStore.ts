import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, call } from '@/api/client'
import type { FleetSummary, NodeEventRead } from '@/api/types'
import type { FleetSnapshot } from '@/stream/topics'

const RECENT_EVENTS = 20

/** The fleet overview: counts by status and the recent events, kept live by the `fleet` topic. */
export const useFleetStore = defineStore('fleet', () => {
  const summary = ref<FleetSummary | null>(null)
  const events = ref<NodeEventRead[]>([])
  const connected = ref<number | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** Node names by id, for events (which carry only the id). */
  const nodeNames = ref<Record<string, string>>({})
  const pendingNames = new Set<string>()

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const [s, e] = await Promise.all([
        call(api.GET('/api/v1/fleet/summary')),
        call(api.GET('/api/v1/events', { params: { query: { limit: RECENT_EVENTS } } })),
      ])
      summary.value = s
      events.value = e.items
      void resolveNames(e.items.map((i) => i.node_id))
    } catch (e) {
      error.value = String(e)
    } finally {
      loading.value = false
    }
  }

  function apply(snapshot: FleetSnapshot): void {
    summary.value = snapshot.summary
    events.value = snapshot.events
    connected.value = snapshot.connected
    void resolveNames(snapshot.events.map((e) => e.node_id))
  }

  function rememberName(id: string, name: string): void {
    if (nodeNames.value[id] !== name) nodeNames.value = { ...nodeNames.value, [id]: name }
  }

  async function resolveNames(ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !(id in nodeNames.value) && !pendingNames.has(id))
    await Promise.all(
      missing.map(async (id) => {
        pendingNames.add(id)
        try {
          const node = await call(api.GET('/api/v1/nodes/{node_id}', { params: { path: { node_id: id } } }), {
            quiet: true,
          })
          rememberName(id, node.name)
        } catch {
          rememberName(id, '(deleted)')
        } finally {
          pendingNames.delete(id)
        }
      }),
    )
  }

  return { summary, events, connected, loading, error, nodeNames, load, apply, rememberName }
})
