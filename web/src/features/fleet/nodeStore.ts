import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { api, ApiError, call } from '@/api/client'
import type { Labels, NodeConfigUpdate, NodeDetail, NodeEventRead, PingResult } from '@/api/types'
import type { NodeSnapshot } from '@/stream/topics'
import { MetricBuffer, WINDOW_SECONDS } from './metrics'

/** The node on the detail page: its record, recent events and metric window. */
export const useNodeStore = defineStore('node', () => {
  const node = ref<NodeDetail | null>(null)
  const events = ref<NodeEventRead[]>([])
  const loading = ref(false)
  const notFound = ref(false)
  const error = ref<string | null>(null)
  const buffer = shallowRef(new MetricBuffer())
  /** Bumped whenever `buffer` changes, so charts recompute (the buffer itself is not reactive). */
  const metricsVersion = ref(0)
  const metricsLoaded = ref(false)
  const lastPing = ref<PingResult | null>(null)

  const path = (id: string) => ({ params: { path: { node_id: id } } })

  async function load(id: string): Promise<void> {
    loading.value = true
    notFound.value = false
    error.value = null
    node.value = null
    metricsLoaded.value = false
    lastPing.value = null
    buffer.value = new MetricBuffer()
    try {
      node.value = await call(api.GET('/api/v1/nodes/{node_id}', path(id)), { quiet: true })
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) notFound.value = true
      else error.value = e instanceof ApiError ? e.message : String(e)
      return
    } finally {
      loading.value = false
    }
    await Promise.all([loadMetrics(id), loadEvents(id)])
  }

  async function loadMetrics(id: string): Promise<void> {
    try {
      const window = await call(
        api.GET('/api/v1/nodes/{node_id}/metrics', {
          params: { path: { node_id: id }, query: { since: WINDOW_SECONDS } },
        }),
      )
      buffer.value.load(window.series)
      metricsVersion.value += 1
    } finally {
      metricsLoaded.value = true
    }
  }

  async function loadEvents(id: string): Promise<void> {
    const page = await call(api.GET('/api/v1/events', { params: { query: { node_id: id, limit: 20 } } }))
    events.value = page.items
  }

  /** A `node:<id>` snapshot: fresh status fields, link state and the recent samples. */
  function apply(snapshot: NodeSnapshot): void {
    if (!node.value || 'error' in snapshot) return
    if (snapshot.node.id === node.value.id) {
      const statusChanged = snapshot.node.status !== node.value.status
      node.value = { ...node.value, ...snapshot.node, connected: snapshot.connected }
      if (statusChanged) void loadEvents(node.value.id).catch(() => undefined)
    }
    if (metricsLoaded.value && buffer.value.merge(snapshot.recent)) {
      metricsVersion.value += 1
    }
  }

  async function updateLabels(labels: Labels): Promise<void> {
    const id = node.value!.id
    node.value = await call(api.PATCH('/api/v1/nodes/{node_id}', { ...path(id), body: { labels } }))
  }

  async function updateConfig(body: NodeConfigUpdate): Promise<void> {
    const id = node.value!.id
    node.value = await call(api.PUT('/api/v1/nodes/{node_id}/config', { ...path(id), body }))
    await loadEvents(id).catch(() => undefined)
  }

  async function ping(): Promise<PingResult> {
    const result = await call(api.POST('/api/v1/nodes/{node_id}/ping', path(node.value!.id)))
    lastPing.value = result
    return result
  }

  async function revoke(): Promise<void> {
    node.value = await call(api.POST('/api/v1/nodes/{node_id}/revoke', path(node.value!.id)))
  }

  async function remove(): Promise<void> {
    await call(api.DELETE('/api/v1/nodes/{node_id}', path(node.value!.id)))
    node.value = null
  }

  return {
    node, events, loading, notFound, error, buffer, metricsVersion, metricsLoaded, lastPing,
    load, apply, updateLabels, updateConfig, ping, revoke, remove,
  }
})
