// Unit tests for the PromQL completion scanner (pure TypeScript, no DOM): `npm test`.
// Node 20 runs no TypeScript, so the module is transpiled with the project's own compiler.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import ts from 'typescript'

const source = readFileSync(new URL('../src/features/metrics/completion.ts', import.meta.url), 'utf8')
const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
const { applySuggestion, completionContext, rank, seriesName } = await import(
  `data:text/javascript;base64,${Buffer.from(js.outputText).toString('base64')}`
)

/** The context at the `|` in `text`. */
const at = (text) => completionContext(text.replace('|', ''), text.indexOf('|'))

test('metric names in the open expression', () => {
  assert.deepEqual(at('host_mem|'), { kind: 'metric', prefix: 'host_mem', from: 0 })
  assert.deepEqual(at('sum(rate(node_cp|'), { kind: 'metric', prefix: 'node_cp', from: 9 })
  assert.deepEqual(at('a + |'), { kind: 'metric', prefix: '', from: 4 })
})

test('nothing inside durations and numbers', () => {
  assert.equal(at('rate(x[5|'), null)
  assert.equal(at('x > 1e|'), null)
})

test('label names inside a selector, with its metric', () => {
  assert.deepEqual(at('up{|'), { kind: 'label-name', prefix: '', from: 3, metric: 'up', inBraces: true })
  assert.deepEqual(at('up{job="a", no|'), { kind: 'label-name', prefix: 'no', from: 12, metric: 'up', inBraces: true })
  assert.deepEqual(at('{no|'), { kind: 'label-name', prefix: 'no', from: 1, metric: null, inBraces: true })
})

test('label values inside quotes, any matcher operator, escapes skipped', () => {
  assert.deepEqual(at('up{node="we|'), {
    kind: 'label-value', prefix: 'we', from: 9, label: 'node', metric: 'up', closed: false,
  })
  assert.deepEqual(at('up{node=~"w|"}').closed, true)
  assert.equal(at('up{a="x\\"y", b!="|').label, 'b')
})

test('label names in grouping clauses', () => {
  assert.deepEqual(at('sum by (no|'), { kind: 'label-name', prefix: 'no', from: 8, metric: null, inBraces: false })
  assert.equal(at('sum without (a, |').prefix, '')
  assert.equal(at('rate(|').kind, 'metric') // a call, not a grouping
})

test('a comment ends the scan of its line', () => {
  assert.equal(at('# up{\nhost|').kind, 'metric')
})

test('rank: exact, then prefix, then substring, case-insensitive', () => {
  const s = (...names) => names.map((text) => ({ text, kind: 'metric' }))
  assert.deepEqual(
    rank(s('node_load1', 'up', 'load', 'load15'), 'load').map((x) => x.text),
    ['load', 'load15', 'node_load1'],
  )
  assert.deepEqual(rank(s('Up'), 'up').map((x) => x.text), ['Up'])
})

test('applying: a label name opens its quotes, a value closes them, a function its call', () => {
  const name = at('up{no|')
  assert.deepEqual(applySuggestion('up{no', 5, name, { text: 'node', kind: 'label' }), { text: 'up{node=""', cursor: 9 })
  const value = at('up{node="w|')
  assert.deepEqual(applySuggestion('up{node="w', 10, value, { text: 'we"b', kind: 'value' }), {
    text: 'up{node="we\\"b"',
    cursor: 15,
  })
  const closed = at('up{node="w|"}')
  assert.deepEqual(applySuggestion('up{node="w"}', 10, closed, { text: 'web', kind: 'value' }), {
    text: 'up{node="web"}',
    cursor: 13,
  })
  const fn = at('ra|')
  assert.deepEqual(applySuggestion('ra', 2, fn, { text: 'rate', kind: 'function' }), { text: 'rate()', cursor: 5 })
  const word = at('host_m|emory')
  assert.deepEqual(applySuggestion('host_memory', 6, word, { text: 'host_load1', kind: 'metric' }), {
    text: 'host_load1',
    cursor: 10,
  })
})

test('series names in Prometheus notation', () => {
  assert.equal(seriesName({ __name__: 'up', job: 'a', instance: 'b' }), 'up{instance="b", job="a"}')
  assert.equal(seriesName({}), '{}')
  assert.equal(seriesName({ __name__: 'up' }), 'up')
})
