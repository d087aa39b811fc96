import { defineStore } from 'pinia'
import { reactive, ref, shallowRef } from 'vue'
import { api, call } from '@/api/client'
import type {
  ChannelCreate,
  ChannelRead,
  ChannelTestResult,
  ChannelUpdate,
  DeliveryRead,
  InhibitRuleCreate,
  InhibitRuleRead,
  RouteNode,
  RouteNodeInput,
} from '@/api/types'
import type { components } from '@/api/schema'
import { pagedList } from '@/ui/paged'

export type RoutePreview = components['schemas']['RoutePreview']

const channelPath = (id: number) => ({ params: { path: { channel_id: id } } })
const inhibitPath = (id: number) => ({ params: { path: { rule_id: id } } })

/** Where alerts go: channels, the routing tree, inhibition rules and the delivery log. */
export const useNotifyStore = defineStore('alertNotify', () => {
  const channels = shallowRef<ChannelRead[]>([])
  const channelsLoaded = ref(false)
  /** The last "send test" result per channel id. */
  const tests = ref<Record<number, ChannelTestResult & { at: number }>>({})
  const routes = shallowRef<RouteNode | null>(null)
  const inhibitRules = shallowRef<InhibitRuleRead[]>([])
  const inhibitLoaded = ref(false)

  async function loadChannels(): Promise<void> {
    try {
      channels.value = await call(api.GET('/api/v1/alerts/channels'))
    } finally {
      channelsLoaded.value = true
    }
  }

  async function createChannel(body: ChannelCreate): Promise<ChannelRead> {
    const channel = await call(api.POST('/api/v1/alerts/channels', { body }))
    await loadChannels()
    return channel
  }

  async function updateChannel(id: number, body: ChannelUpdate): Promise<ChannelRead> {
    const channel = await call(api.PATCH('/api/v1/alerts/channels/{channel_id}', { ...channelPath(id), body }))
    channels.value = channels.value.map((c) => (c.id === id ? channel : c))
    return channel
  }

  async function deleteChannel(id: number): Promise<void> {
    await call(api.DELETE('/api/v1/alerts/channels/{channel_id}', channelPath(id)))
    channels.value = channels.value.filter((c) => c.id !== id)
  }

  async function testChannel(id: number): Promise<ChannelTestResult> {
    const result = await call(api.POST('/api/v1/alerts/channels/{channel_id}/test', channelPath(id)))
    tests.value = { ...tests.value, [id]: { ...result, at: Date.now() } }
    return result
  }

  async function loadRoutes(): Promise<void> {
    routes.value = await call(api.GET('/api/v1/alerts/routes'))
  }

  async function saveRoutes(tree: RouteNodeInput): Promise<void> {
    routes.value = await call(api.PUT('/api/v1/alerts/routes', { body: tree }))
  }

  /**
   * Where an alert with `labels` goes, by the server's routing: by `draft` (edits not saved
   * yet; operators and admins) or by the saved tree (anyone). Quiet: the page shows errors.
   */
  async function previewRoutes(labels: Record<string, string>, draft: RouteNodeInput | null, signal?: AbortSignal): Promise<RoutePreview> {
    if (draft) return call(api.POST('/api/v1/alerts/routes/preview', { body: { labels, tree: draft }, signal }), { quiet: true })
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
    return call(api.GET('/api/v1/alerts/routes/preview', { params: { query: { label } }, signal }), { quiet: true })
  }

  async function loadInhibitRules(): Promise<void> {
    try {
      inhibitRules.value = await call(api.GET('/api/v1/alerts/inhibit-rules'))
    } finally {
      inhibitLoaded.value = true
    }
  }

  async function createInhibitRule(body: InhibitRuleCreate): Promise<void> {
    await call(api.POST('/api/v1/alerts/inhibit-rules', { body }))
    await loadInhibitRules()
  }

  async function updateInhibitRule(id: number, body: Partial<InhibitRuleCreate>): Promise<void> {
    const rule = await call(api.PATCH('/api/v1/alerts/inhibit-rules/{rule_id}', { ...inhibitPath(id), body }))
    inhibitRules.value = inhibitRules.value.map((r) => (r.id === id ? rule : r))
  }

  async function deleteInhibitRule(id: number): Promise<void> {
    await call(api.DELETE('/api/v1/alerts/inhibit-rules/{rule_id}', inhibitPath(id)))
    inhibitRules.value = inhibitRules.value.filter((r) => r.id !== id)
  }

  const deliveryFilters = reactive<{ channelId: number | null; status: '' | 'ok' | 'retrying' | 'failed' }>({
    channelId: null,
    status: '',
  })
  const deliveries = pagedList<DeliveryRead>((cursor, limit, quiet) => {
    const query = { limit, cursor, channel_id: deliveryFilters.channelId ?? undefined, status: deliveryFilters.status || undefined }
    return call(api.GET('/api/v1/alerts/deliveries', { params: { query } }), { quiet })
  })

  return {
    channels, channelsLoaded, tests, routes, inhibitRules, inhibitLoaded, deliveryFilters, deliveries,
    loadChannels, createChannel, updateChannel, deleteChannel, testChannel,
    loadRoutes, saveRoutes, previewRoutes,
    loadInhibitRules, createInhibitRule, updateInhibitRule, deleteInhibitRule,
  }
})
