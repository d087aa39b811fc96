// The analyzer's leak suspects and heap summary as the detail page shows them. The server
// passes them on as free-form JSON (`leak_suspects: dict[str, Any][]`, the `opsplane.heapdump`
// report schema), so they are read defensively here: a missing field shows as a dash, never
// as a broken page. Pure: no Vue.

export interface PathStep {
  label: string
  className: string
  /** The field or static that holds the next step (`static out`, `table[3]`). */
  referencedBy: string | null
  /** GC root kinds when this step is a root (`system class`, `thread`). */
  gcRoot: string[]
}

export interface AccumulationPoint {
  className: string
  objectId: string | null
  retainedBytes: number | null
  retainedObjects: number | null
}

export interface LeakSuspect {
  /** `class` (many instances together) or `object` (one big object). */
  kind: string
  className: string
  instances: number | null
  retainedBytes: number | null
  heapFraction: number | null
  accumulation: AccumulationPoint | null
  path: PathStep[]
}

export interface HeapSummary {
  heapBytes: number | null
  objects: number | null
  classes: number | null
  gcRoots: number | null
  fileBytes: number | null
}

type Json = Record<string, unknown>

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const obj = (v: unknown): Json | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null)

function pathStep(raw: unknown): PathStep | null {
  const step = obj(raw)
  if (!step) return null
  const className = str(step.class) ?? '?'
  const roots = Array.isArray(step.gc_root) ? step.gc_root.filter((r): r is string => typeof r === 'string') : []
  return { label: str(step.label) ?? className, className, referencedBy: str(step.referenced_by), gcRoot: roots }
}

function accumulation(raw: unknown): AccumulationPoint | null {
  const point = obj(raw)
  if (!point) return null
  return {
    className: str(point.class) ?? '?',
    objectId: str(point.object_id),
    retainedBytes: num(point.retained_bytes),
    retainedObjects: num(point.retained_objects),
  }
}

export function readSuspects(raw: readonly unknown[] | null | undefined): LeakSuspect[] {
  const out: LeakSuspect[] = []
  for (const item of raw ?? []) {
    const s = obj(item)
    if (!s) continue
    const path = Array.isArray(s.path_to_root) ? s.path_to_root.map(pathStep).filter((p): p is PathStep => p !== null) : []
    out.push({
      kind: str(s.kind) ?? 'class',
      className: str(s.class) ?? '?',
      instances: num(s.instances),
      retainedBytes: num(s.retained_bytes),
      heapFraction: num(s.heap_fraction),
      accumulation: accumulation(s.accumulation_point),
      path,
    })
  }
  return out
}

export function readHeap(raw: Json | null | undefined): HeapSummary {
  const h = raw ?? {}
  return {
    heapBytes: num(h.heap_bytes),
    objects: num(h.objects),
    classes: num(h.classes),
    gcRoots: num(h.gc_roots),
    fileBytes: num(h.file_bytes),
  }
}
