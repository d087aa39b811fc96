import { defineStore } from 'pinia'
import { ref } from 'vue'
import {
  AGGREGATIONS,
  FUNCTIONS,
  KEYWORDS,
  rank,
  type CompletionContext,
  type Suggestion,
} from './completion'
import { labelNames, labelValues, metadata, type MetricMetadata } from './promApi'

/** How long fetched names stay fresh (new series appear as agents and scrapes add them). */
const TTL_MS = 60_000
const LANGUAGE: Suggestion[] = [
  ...AGGREGATIONS.map((text) => ({ text, kind: 'keyword' as const, detail: 'aggregation' })),
  ...FUNCTIONS.map((text) => ({ text, kind: 'function' as const, detail: 'function' })),
  ...KEYWORDS.filter((k) => !AGGREGATIONS.includes(k)).map((text) => ({ text, kind: 'keyword' as const })),
]

/** Metric names, label names and values for autocompletion, fetched on demand and cached. */
export const useMetricCatalog = defineStore('metricCatalog', () => {
  const cache = new Map<string, { at: number; values: string[] }>()
  const meta = ref<Record<string, MetricMetadata[]>>({})
  let metaAt = 0

  async function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
    const hit = cache.get(key)
    if (hit && Date.now() - hit.at < TTL_MS) return hit.values
    const values = await load()
    cache.set(key, { at: Date.now(), values })
    return values
  }

  async function loadMetadata(signal?: AbortSignal): Promise<void> {
    if (Date.now() - metaAt < TTL_MS) return
    metaAt = Date.now()
    try {
      meta.value = (await metadata(signal)).data
    } catch {
      metaAt = 0 // metadata only decorates suggestions: try again next time
    }
  }

  function metricDetail(name: string): string | undefined {
    const m = meta.value[name]?.[0]
    return m ? [m.type, m.help].filter(Boolean).join(' · ') : undefined
  }

  async function metricNames(signal?: AbortSignal): Promise<string[]> {
    return cached('__name__', async () => (await labelValues('__name__', [], signal)).data)
  }

  async function labelNamesOf(metric: string | null, signal?: AbortSignal): Promise<string[]> {
    const match = metric ? [metric] : []
    const names = await cached(`labels:${metric ?? ''}`, async () => (await labelNames(match, signal)).data)
    return names.filter((n) => n !== '__name__')
  }

  async function labelValuesOf(label: string, metric: string | null, signal?: AbortSignal): Promise<string[]> {
    const match = metric ? [metric] : []
    return cached(`values:${label}:${metric ?? ''}`, async () => (await labelValues(label, match, signal)).data)
  }

  /** The suggestions for a completion context, best first. */
  async function suggest(context: CompletionContext, signal?: AbortSignal): Promise<Suggestion[]> {
    switch (context.kind) {
      case 'metric': {
        const [names] = await Promise.all([metricNames(signal), loadMetadata(signal)])
        const metrics = names.map((text) => ({ text, kind: 'metric' as const, detail: metricDetail(text) }))
        return rank([...metrics, ...LANGUAGE], context.prefix)
      }
      case 'label-name': {
        const names = await labelNamesOf(context.metric, signal)
        return rank(names.map((text) => ({ text, kind: 'label' as const })), context.prefix)
      }
      case 'label-value': {
        const values = await labelValuesOf(context.label, context.metric, signal)
        return rank(values.map((text) => ({ text, kind: 'value' as const })), context.prefix)
      }
    }
  }

  return { meta, metricNames, labelNamesOf, labelValuesOf, suggest }
})
