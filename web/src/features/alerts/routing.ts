// The routing tree as the editor holds it (durations as text, group_by as a list). Where an
// alert would go is the server's answer (`/alerts/routes/preview`), never worked out here.
import type { Matcher, RouteNode, RouteNodeInput } from '@/api/types'
import { promDuration } from '@/ui/duration'

export interface DraftRoute {
  matchers: Matcher[]
  receivers: number[]
  continue: boolean
  /** null: inherit from the parent; ['...']: every label. */
  groupBy: string[] | null
  groupWait: string
  groupInterval: string
  repeatInterval: string
  escalateAfter: string
  escalateTo: number[]
  routes: DraftRoute[]
}

const text = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : typeof v === 'number' ? promDuration(v) : v)

export function toDraft(node: RouteNode): DraftRoute {
  return {
    matchers: (node.matchers ?? []).map((m) => ({ ...m })),
    receivers: [...(node.receivers ?? [])],
    continue: node.continue,
    groupBy: node.group_by ?? null,
    groupWait: text(node.group_wait),
    groupInterval: text(node.group_interval),
    repeatInterval: text(node.repeat_interval),
    escalateAfter: text(node.escalate_after),
    escalateTo: [...(node.escalate_to ?? [])],
    routes: (node.routes ?? []).map(toDraft),
  }
}

export function fromDraft(draft: DraftRoute): RouteNodeInput {
  const orNull = (v: string) => v.trim() || null
  return {
    matchers: draft.matchers,
    receivers: draft.receivers,
    continue: draft.continue,
    group_by: draft.groupBy,
    group_wait: orNull(draft.groupWait),
    group_interval: orNull(draft.groupInterval),
    repeat_interval: orNull(draft.repeatInterval),
    escalate_after: orNull(draft.escalateAfter),
    escalate_to: draft.escalateTo,
    routes: draft.routes.map(fromDraft),
  }
}

export function emptyRoute(): DraftRoute {
  return {
    matchers: [{ name: 'severity', op: '=', value: 'critical' }],
    receivers: [],
    continue: false,
    groupBy: null,
    groupWait: '',
    groupInterval: '',
    repeatInterval: '',
    escalateAfter: '',
    escalateTo: [],
    routes: [],
  }
}

/** `alertname=X severity=critical` (spaces or commas between) as a label set. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1).replace(/^"|"$/g, '')
  }
  return out
}
