import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import { api, call } from '@/api/client'
import type { DumpSettingsRead, DumpSettingsUpdate, WatchRuleCreate, WatchRuleRead, WatchRuleUpdate } from '@/api/types'

const rulePath = (id: number) => ({ params: { path: { rule_id: id } } })

/** Watch rules (pushed to the agents they select) and the pipeline's run-time settings. */
export const useDumpSettingsStore = defineStore('dumpSettings', () => {
  const rules = shallowRef<WatchRuleRead[]>([])
  const rulesLoaded = ref(false)
  const settings = shallowRef<DumpSettingsRead | null>(null)

  async function loadRules(): Promise<void> {
    try {
      rules.value = await call(api.GET('/api/v1/dumps/watch-rules'))
    } finally {
      rulesLoaded.value = true
    }
  }

  async function loadSettings(): Promise<void> {
    settings.value = await call(api.GET('/api/v1/dumps/settings'))
  }

  async function createRule(body: WatchRuleCreate): Promise<WatchRuleRead> {
    const rule = await call(api.POST('/api/v1/dumps/watch-rules', { body }))
    rules.value = [...rules.value, rule]
    return rule
  }

  async function updateRule(id: number, body: WatchRuleUpdate): Promise<WatchRuleRead> {
    const rule = await call(api.PATCH('/api/v1/dumps/watch-rules/{rule_id}', { ...rulePath(id), body }))
    rules.value = rules.value.map((r) => (r.id === id ? rule : r))
    return rule
  }

  async function deleteRule(id: number): Promise<void> {
    await call(api.DELETE('/api/v1/dumps/watch-rules/{rule_id}', rulePath(id)))
    rules.value = rules.value.filter((r) => r.id !== id)
  }

  async function saveSettings(body: DumpSettingsUpdate): Promise<DumpSettingsRead> {
    settings.value = await call(api.PUT('/api/v1/dumps/settings', { body }))
    return settings.value
  }

  return { rules, rulesLoaded, settings, loadRules, loadSettings, createRule, updateRule, deleteRule, saveSettings }
})
