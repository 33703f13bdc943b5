import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, count, filter, keyBy, map, match, pattern, pipeline, sum, table, tumbling, upsert, window, type Duration } from '../index.ts'
import { canonicalText, diff } from './diff.ts'

interface E {
  readonly k: string
  readonly t: number
  readonly v: number
}
const events: E[] = [
  { k: 'a', t: 1, v: 1 },
  { k: 'a', t: 5, v: 2 },
  { k: 'b', t: 7, v: 5 },
  { k: 'a', t: 12, v: 1 }, // the watermark passes 10: both [0, 10) windows fire
  { k: 'a', t: 3, v: 10 }, // late for [0, 10), unless allowed lateness keeps it open
  { k: 'b', t: 25, v: 1 }, // a's [10, 20) fires
]
const log = events.map((event, i) => ({ offset: i + 1, arrival: i, event }))

const windows = (o: { size?: Duration; allowedLateness?: Duration; keep?: (e: E) => boolean } = {}) =>
  pipeline({ name: 'sums', eventTime: (e: E) => e.t }, (s) =>
    pipe(
      s,
      filter(o.keep ?? (() => true)),
      keyBy((e) => e.k),
      window(tumbling(o.size ?? 10), { allowedLateness: o.allowedLateness ?? 0 }),
      aggregate({ n: count, total: sum((e: E) => e.v) }),
    ),
  )

const summary = (d: Awaited<ReturnType<typeof diff>>) => d.differences.map((x) => `${x.kind} ${x.identity} @${x.at}`)

describe('diff', () => {
  it('a changed window size: every window is removed or added, each at its last event', async () => {
    const d = await diff(windows(), windows({ size: 20 }), log)
    expect(d.identical).toBe(false)
    expect({ added: d.added, removed: d.removed, changed: d.changed, same: d.same }).toEqual({ added: 3, removed: 4, changed: 0, same: 0 })
    expect(summary(d)).toEqual([
      'removed key a, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.010Z) @2',
      'removed key b, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.010Z) @3',
      'added key b, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.020Z) @3',
      'removed key a, window [1970-01-01T00:00:00.010Z, 1970-01-01T00:00:00.020Z) @4',
      // t=3 at offset 5 is on time for [0, 20).
      'added key a, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.020Z) @5',
      'removed key b, window [1970-01-01T00:00:00.020Z, 1970-01-01T00:00:00.030Z) @6',
      'added key b, window [1970-01-01T00:00:00.020Z, 1970-01-01T00:00:00.040Z) @6',
    ])
  })

  it('a changed filter: a window with fewer events is changed, one left empty is removed', async () => {
    const d = await diff(windows(), windows({ keep: (e) => e.v > 1 }), log)
    expect(summary(d)).toEqual([
      'changed key a, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.010Z) @2',
      'removed key a, window [1970-01-01T00:00:00.010Z, 1970-01-01T00:00:00.020Z) @4',
      'removed key b, window [1970-01-01T00:00:00.020Z, 1970-01-01T00:00:00.030Z) @6',
    ])
    expect(d.differences[0]).toMatchObject({ before: { value: { n: 2, total: 3 } }, after: { value: { n: 1, total: 2 } } })
    expect(d.same).toBe(1)
  })

  it('a changed allowed lateness: the window the late event reaches is changed, from that event', async () => {
    const d = await diff(windows(), windows({ allowedLateness: 10 }), log)
    expect(summary(d)).toEqual(['changed key a, window [1970-01-01T00:00Z, 1970-01-01T00:00:00.010Z) @5'])
    expect(d.differences[0]).toMatchObject({ before: { value: { n: 2, total: 3 } }, after: { value: { n: 3, total: 13 } } })
    expect(d.metrics.before.late).toBe(1)
    expect(d.metrics.after.late).toBe(0)
  })

  it('an identical refactoring (another key function, fields in another order) is identical', async () => {
    const refactored = pipeline({ name: 'sums v2', eventTime: (e: E) => e.t }, (s) =>
      pipe(s, keyBy((e) => `${e.k}`), window(tumbling('10ms')), aggregate({ total: sum((e: E) => e.v), n: count })),
    )
    const d = await diff(windows(), refactored, log)
    expect(d).toMatchObject({ identical: true, differences: [], added: 0, removed: 0, changed: 0, same: 4 })
  })

  it('matches a table by key: its final value, a deleted row as removed', async () => {
    const rows = (drop: boolean) =>
      pipeline({ name: 'rows', eventTime: (e: E) => e.t }, (s) =>
        pipe(
          s,
          filter((e) => !(drop && e.t === 25)),
          map((e) => upsert(e.k, e.v)),
          table(),
        ),
      )
    const d = await diff(rows(false), rows(true), log)
    expect(summary(d)).toEqual(['changed key b @6'])
    expect(d.differences[0]).toMatchObject({ before: 1, after: 5 })
  })

  it('matches pattern matches by key and events: identical when a step is rewritten, removed when it is stricter', async () => {
    const rises = (by: (low: number, high: number) => boolean) =>
      pipeline({ name: 'rises', eventTime: (e: E) => e.t }, (s) =>
        pipe(
          s,
          keyBy((e) => e.k),
          match(
            pattern<E>()
              .begin('low', (e) => e.v <= 2)
              .next('high', (e, m) => by(m.low[0].v, e.v)),
          ),
        ),
      )
    // Key a in event time, the late t=3 left out: v 1 (t=1), 2 (t=5), 1 (t=12): one rise, by 1.
    const d = await diff(
      rises((low, high) => high >= low + 1),
      rises((low, high) => high - low > 0),
      log,
    )
    expect(d).toMatchObject({ identical: true, same: 1 })
    const stricter = await diff(
      rises((low, high) => high >= low + 1),
      rises((low, high) => high >= low + 2),
      log,
    )
    expect(summary(stricter)).toEqual(['removed match of key a over {"high":[{"k":"a","t":5,"v":2}],"low":[{"k":"a","t":1,"v":1}]} @2'])
  })

  it('matches outputs without a key by value, telling equal ones apart by order (1 is the third 1)', async () => {
    const values = (extra: boolean) =>
      pipeline({ name: 'values', eventTime: (e: E) => e.t }, (s) => pipe(s, filter((e) => extra || e.k === 'a'), map((e) => e.v)))
    const d = await diff(values(false), values(true), log)
    expect(summary(d)).toEqual(['added 5 @3', 'added 1 (#3) @6'])
  })

  it('refuses a log it cannot read twice', async () => {
    await expect(diff(windows(), windows(), (async function* () {})() as never)).rejects.toThrow('diff: the log must be a file path or an array of records')
  })
})

describe('canonicalText', () => {
  it('sorts object keys and writes what JSON cannot hold', () => {
    expect(canonicalText({ b: 1, a: [NaN, 2n, undefined] })).toBe('{"a":[NaN,2n,undefined],"b":1}')
  })
})
