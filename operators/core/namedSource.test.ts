import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { source } from '../../dsl/sources.ts'
import { filter, keyBy, map, merge } from '../../dsl/stages.ts'
import { windowJoin } from '../../dsl/joins.ts'
import { boundedOutOfOrder, idleTimeout } from '../../dsl/watermarks.ts'
import { plan } from '../../dsl/plan.ts'
import type { Stream } from '../../dsl/stream.ts'
import { replay } from '../../harness/replay.ts'
import { asyncScheduler, from, lastValueFrom, toArray, type SchedulerLike } from 'rxjs'
import { compileElements } from '../../dsl/compile.ts'
import type { Data } from '../../dsl/element.ts'
import { makeContext } from './context.ts'

const Click = t.type({ user: t.string, at: t.number })
type Click = t.TypeOf<typeof Click>
const Search = t.type({ user: t.string, at: t.number, query: t.string })
type Search = t.TypeOf<typeof Search>

const sources = {
  clicks: source({ codec: Click, eventTime: (c) => c.at, watermark: boundedOutOfOrder(3) }),
  searches: source({ codec: Search, eventTime: (s) => s.at, watermark: [boundedOutOfOrder(5), idleTimeout(20)] }),
}

const join = (clicks: Stream<Click>, searches: Stream<Search>) =>
  pipe(
    clicks,
    keyBy((c) => c.user),
    windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 10, type: 'outer' }),
    map((j) => `${j.left?.at}:${j.right?.query}`),
  )

/** The join, its named sources and every stage chained into the one operator that reads the input. */
const chained = pipeline({ name: 'chained', sources }, ({ clicks, searches }) => join(clicks, searches))

/**
 * The same join with its sources as operators of their own: the clicks are read a second time, by a
 * branch that keeps nothing, so the input's readers are not the branches of one join.
 */
const unchained = pipeline({ name: 'unchained', sources }, ({ clicks, searches }) =>
  pipe(join(clicks, searches), merge(pipe(clicks, filter(() => false), map(String)))),
)

const user = fc.constantFrom('u', 'v')
const record = fc.oneof(
  fc.record({ topic: fc.constant('clicks'), event: fc.oneof({ weight: 9, arbitrary: fc.record({ user, at: fc.integer({ min: 0, max: 80 }) }) }, { weight: 1, arbitrary: fc.constant({ user: 'u' }) }) }),
  fc.record({ topic: fc.constant('searches'), event: fc.record({ user, at: fc.integer({ min: 0, max: 80 }), query: fc.constantFrom('a', 'b') }) }),
  fc.record({ topic: fc.constant('views'), event: fc.constant({}) }),
)
/** A log with arrivals far enough apart now and then for the searches' idle timeout to fire. */
const log = fc.array(fc.tuple(record, fc.integer({ min: 0, max: 30 })), { maxLength: 40 }).map((rs) => {
  let arrival = 0
  return rs.map(([r, gap]) => ({ ...r, arrival: (arrival += gap) }))
})

describe('named sources chained into the input', () => {
  it('run inside the operator that reads the input when a join reads them both, and not when a source is read twice', () => {
    expect(plan(chained).map((s) => `${s.label}${s.chained ? '*' : ''}`)).toEqual([
      'input (routed by topic to clicks, searches)',
      'source clicks (codec { user: string, at: number }), watermarks: boundedOutOfOrder 3ms*',
      'keyBy*',
      'source searches (codec { user: string, at: number, query: string }), watermarks: boundedOutOfOrder 5ms, idleTimeout 20ms*',
      'keyBy*',
      'windowJoin(outer, within 10ms)*',
      'map*',
    ])
    expect(plan(unchained).some((s) => s.chained)).toBe(false)
  })

  it('read no clock per record: the routed input passes arrivals on, and sources with an event time stamp their own', async () => {
    const clockReads = async (n: number) => {
      let reads = 0
      const scheduler = { now: () => (reads++, asyncScheduler.now()), schedule: asyncScheduler.schedule.bind(asyncScheduler) } as SchedulerLike
      const recs: Data<unknown>[] = Array.from({ length: n }, (_, i) => ({
        _tag: 'Data',
        value: i % 2 === 0 ? { source: 'clicks', event: { user: 'u', at: i } } : { source: 'searches', event: { user: 'u', at: i, query: 'a' } },
        time: Number.NaN,
        key: undefined,
        pos: i,
      }))
      for (const p of [chained, unchained]) await lastValueFrom(from(recs).pipe(compileElements(p, makeContext({ scheduler })), toArray()))
      return reads
    }
    // The searches' idle timer reads the clock on each of their records.
    expect(await clockReads(200)).toBe((await clockReads(100)) + 100)
  })

  it('give what the named source operators give: outputs, late events, dead letters, skipped records', async () => {
    await fc.assert(
      fc.asyncProperty(log, async (records) => {
        const a = await replay(chained, records)
        const b = await replay(unchained, records)
        expect([a.out, a.late, a.deadLetters, a.metrics.skipped]).toEqual([b.out, b.late, b.deadLetters, b.metrics.skipped])
      }),
      { seed: 2121, numRuns: 120 },
    )
  })
})
