// Unit tests for the heap-dump pages' pure modules (no DOM): `npm test`.
// Node 20 runs no TypeScript, so each module is transpiled with the project's own compiler
// (their imports are type-only and vanish).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

async function load(name) {
  const source = readFileSync(new URL(`../src/features/dumps/${name}.ts`, import.meta.url), 'utf8')
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
  return import(`data:text/javascript;base64,${Buffer.from(js.outputText).toString('base64')}`)
}

const filters = await load('filters')
const timeline = await load('timeline')
const daily = await load('daily')
const suspects = await load('suspects')
const forms = await load('forms')

test('filters: API query leaves blanks out, the URL round-trips', () => {
  const f = { ...filters.emptyFilters(), statuses: ['failed', 'analyzed'], app: ' shop ', since: '2026-01-01T00:00:00.000Z' }
  assert.deepEqual(filters.fileQuery(f), { status: ['failed', 'analyzed'], app: 'shop', since: '2026-01-01T00:00:00.000Z' })
  assert.deepEqual(filters.filtersFromQuery(filters.queryFromFilters(f)), { ...f, app: 'shop' })
  assert.equal(
    filters.exportHref(f),
    '/api/v1/files/export.csv?status=failed&status=analyzed&app=shop&since=2026-01-01T00%3A00%3A00.000Z',
  )
  assert.equal(filters.exportHref(filters.emptyFilters()), '/api/v1/files/export.csv')
})

test('filters: a single status from a link, unknown states dropped', () => {
  assert.deepEqual(filters.filtersFromQuery({ status: 'failed' }).statuses, ['failed'])
  assert.deepEqual(filters.filtersFromQuery({ status: ['bogus', 'created'], node: ['a', 'b'] }).statuses, ['created'])
  assert.equal(filters.filtersFromQuery({ node: ['a', 'b'] }).node, 'a')
})

const record = (id, step, status, extra = {}) => ({
  id, step, status, retry_count: 0, backend: null, started_at: '2026-01-01T00:00:00Z', completed_at: null,
  duration_seconds: null, error: null, error_type: null, details: {}, ...extra,
})

test('timeline: attempts numbered per step, summaries take the latest attempt', () => {
  const records = [
    record(1, 'upload', 'success', { duration_seconds: 1.5 }),
    record(2, 'analysis', 'failed', { error: 'boom' }),
    record(3, 'analysis', 'success', { duration_seconds: 4 }),
  ]
  assert.deepEqual(timeline.attempts(records).map((a) => [a.record.id, a.attempt]), [[1, 1], [2, 1], [3, 2]])
  const summary = timeline.stepSummaries(records)
  assert.deepEqual(summary.map((s) => [s.step, s.status, s.attempts, s.seconds]), [
    ['upload', 'success', 1, 1.5],
    ['analysis', 'success', 2, 4],
    ['ai_analysis', 'not started', 0, null],
    ['report', 'not started', 0, null],
  ])
  assert.equal(summary[1].error, null)
})

const file = (status, extra = {}) => ({ status, uploaded_at: null, file_name: 'a.hprof', node: 'web-1', node_id: 'n1', ...extra })

test('timeline: what a manual retry redoes (the server rule)', () => {
  assert.equal(timeline.retryPlan(file('failed'), []).step, 'upload')
  assert.match(timeline.retryPlan(file('failed'), []).what, /node web-1/)
  assert.match(timeline.retryPlan(file('failed', { node_id: null }), []).what, /No agent holds it/)
  assert.equal(timeline.retryPlan(file('uploading'), []).step, 'upload')
  assert.equal(timeline.retryPlan(file('failed', { uploaded_at: '2026-01-01T00:00:00Z' }), []).step, 'analysis')
  assert.equal(timeline.retryPlan(file('analyzed', { uploaded_at: 'x' }), [record(1, 'ai_analysis', 'success')]), null)
  assert.equal(
    timeline.retryPlan(file('analyzed', { uploaded_at: 'x' }), [record(1, 'ai_analysis', 'success'), record(2, 'ai_analysis', 'failed')]).step,
    'ai_analysis',
  )
  assert.equal(timeline.retryPlan(file('analyzing', { uploaded_at: 'x' }), []), null)
})

test('timeline: processing time only for finished files', () => {
  const base = { created_at: '2026-01-01T00:00:00Z', analyzed_at: '2026-01-01T00:01:30Z', failed_at: null }
  assert.equal(timeline.processingSeconds({ ...base, status: 'analyzed' }), 90)
  assert.equal(timeline.processingSeconds({ ...base, status: 'analyzing' }), null)
})

test('daily: a full window, busiest apps named, the rest as other', () => {
  const rows = daily.readDayCounts([
    { app: 'a', day: '2026-01-07', count: 5 },
    { app: 'b', day: '2026-01-06', count: 2 },
    { app: 'c', day: '2026-01-07', count: 1 },
    { app: 'a', day: '2025-12-01', count: 99 }, // outside the window
    { app: 'x', day: 'garbage', count: 1 },
  ])
  const out = daily.dailySeries(rows, '2026-01-07', 3, 2)
  assert.deepEqual(out.days, ['2026-01-05', '2026-01-06', '2026-01-07'])
  assert.deepEqual(out.series, [
    { name: 'a', counts: [0, 0, 5] },
    { name: 'b', counts: [0, 2, 0] },
    { name: 'other', counts: [0, 0, 1] },
  ])
  assert.equal(out.total, 8)
})

test('suspects: read defensively', () => {
  const [s] = suspects.readSuspects([
    {
      kind: 'class', class: 'com.example.Cache', instances: 3, retained_bytes: 100, heap_fraction: 0.5,
      accumulation_point: { class: 'java.util.HashMap', retained_bytes: 90 },
      path_to_root: [{ class: 'java.util.HashMap', label: 'java.util.HashMap', referenced_by: 'static CACHE' }, { class: 'java.lang.Class', label: 'class Foo', gc_root: ['system class'] }],
    },
    'not an object',
  ].concat([{}]))
  assert.equal(s.className, 'com.example.Cache')
  assert.equal(s.accumulation.className, 'java.util.HashMap')
  assert.deepEqual(s.path.map((p) => [p.label, p.referencedBy, p.gcRoot]), [
    ['java.util.HashMap', 'static CACHE', []],
    ['class Foo', null, ['system class']],
  ])
  assert.deepEqual(suspects.readSuspects([{}])[0], {
    kind: 'class', className: '?', instances: null, retainedBytes: null, heapFraction: null, accumulation: null, path: [],
  })
})

test('forms: a watch rule form sends only the scope chosen', () => {
  const form = { ...forms.ruleForm(null), name: ' oom ', paths: '/data/a\n\n /data/b ', patterns: '*.hprof  *.gz,x', scope: 'labels', labels: { env: 'prod' }, nodeIds: ['n1'] }
  assert.deepEqual(forms.ruleProblems(form), [])
  const body = forms.ruleBody(form)
  assert.deepEqual([body.name, body.paths, body.patterns, body.node_ids, body.labels, body.path_template], [
    'oom', ['/data/a', '/data/b'], ['*.hprof', '*.gz', 'x'], [], { env: 'prod' }, null,
  ])
  assert.deepEqual(forms.ruleProblems({ ...form, paths: 'relative/dir', scope: 'nodes', nodeIds: [] }), [
    'absolute directories (starting with /)',
    'at least one node (or scope: all nodes)',
  ])
})

const settings = {
  backend: 'builtin', jenkins_url: null, jenkins_job: 'heapdump-analysis', jenkins_user: null, jenkins_token_set: true,
  ai_url: null, ai_model: 'gpt-4o-mini', ai_key_set: false, retry_max_upload: 3, retry_max_analysis: 2,
  retry_max_ai_analysis: 3, retry_base_delay: 30, retry_max_delay: 3600, report_link_ttl: 604800,
  upload_bytes_per_second: 2048, upload_concurrency: 1, secrets_unreadable: false,
}

test('forms: settings send only what changed; secrets typed, kept or cleared', () => {
  const form = forms.settingsForm(settings)
  assert.equal(form.uploadKibPerSecond, 2)
  assert.deepEqual(forms.settingsChanges(form, settings), {})
  assert.deepEqual(
    forms.settingsChanges({ ...form, aiUrl: ' http://llm ', retryMaxAnalysis: 0, uploadKibPerSecond: null, aiKey: { text: 'k', clear: false } }, settings),
    { ai_url: 'http://llm', ai_key: 'k', retry_max_analysis: 0, upload_bytes_per_second: null },
  )
  assert.deepEqual(forms.settingsChanges({ ...form, jenkinsToken: { text: '', clear: true } }, settings), { jenkins_token: null })
  // clearing a secret that is not set sends nothing
  assert.deepEqual(forms.settingsChanges({ ...form, aiKey: { text: '', clear: true } }, settings), {})
})
