import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { MonoidSum } from 'fp-ts/lib/number.js'
import { aggregate, hopping, session, sliding, tumbling, window, windowId, type WindowResult } from './windows.ts'
import { aggregator, count, fromMonoid, mean, sum, type Aggregator } from './aggregations.ts'
import type { Change } from './change.ts'
import { pipeline } from './pipeline.ts'
import { keyBy, map } from './stages.ts'
import type { OperatorNode, Stream } from './stream.ts'
import { boundedOutOfOrder } from './watermarks.ts'
import { run } from '../harness/run.ts'

interface Flight {
  readonly origin: string
  readonly delay: number
  readonly scheduled: number
}
interface Stock {
  readonly symbol: string
  readonly price: number
}

const flights = (build: (s: Stream<Flight, string>) => Stream<unknown, unknown>) =>
  pipeline({ eventTime: (f: Flight) => f.scheduled, watermark: boundedOutOfOrder('1m') }, (s) =>
    pipe(
      s,
      keyBy((f: Flight) => f.origin),
      build,
    ),
  )

describe('window description', () => {
  it('a record of aggregates gives a typed record per window, keyed by the stream key', () => {
    const p = pipeline({ eventTime: (f: Flight) => f.scheduled }, (s) =>
      pipe(
        s,
        keyBy((f: Flight) => f.origin),
        window(tumbling('1h')),
        aggregate({ n: count, avgDelay: mean((f: Flight) => f.delay) }),
      ),
    )
    const out: Stream<WindowResult<string, { readonly n: number; readonly avgDelay: number }>, string> = p.output
    expect((out.node as OperatorNode).label).toBe('window tumbling 1h → aggregate { n, avgDelay }')
  })

  it("'updates' mode gives a changelog of window results keyed by string", () => {
    const p = pipeline({ eventTime: (f: Flight) => f.scheduled }, (s) =>
      pipe(
        s,
        keyBy((f: Flight) => f.origin),
        window(session('30m'), { emit: 'updates', allowedLateness: '5m' }),
        aggregate(count),
      ),
    )
    const out: Stream<Change<string, WindowResult<string, number>>, string> = p.output
    expect((out.node as OperatorNode).spec).toMatchObject({ emit: 'updates', allowedLateness: 300_000, assigner: { _tag: 'Session', gap: 1_800_000 } })
  })

  it('rejects misuse at compile time', () => {
    const noMerge: Aggregator<Flight, number, number> = { init: () => 0, add: (a, f) => a + f.delay, result: (a) => a }
    const build = () => {
      const unkeyed = pipeline({}, (s: Stream<Flight>) => s).output
      // @ts-expect-error: windows need a keyed stream (keyBy first)
      pipe(unkeyed, window(tumbling('1m')))
      // @ts-expect-error: session windows need an aggregator with merge
      flights((s) => pipe(s, window(session('30s')), aggregate(noMerge)))
      // @ts-expect-error: a record with one field lacking merge cannot aggregate sessions either
      flights((s) => pipe(s, window(session('30s')), aggregate({ n: count, d: noMerge })))
      // @ts-expect-error: the aggregator reads Stock, the stream carries Flight
      flights((s) => pipe(s, window(tumbling('1m')), aggregate({ n: count, avg: mean((x: Stock) => x.price) })))
      // @ts-expect-error: a windowed stream is not a stream: aggregate it first
      flights((s) => pipe(s, window(tumbling('1m')), map((x: Flight) => x.delay)))
    }
    // Fine: the same aggregator on tumbling windows, and monoids or mergeable aggregators on sessions.
    flights((s) => pipe(s, window(tumbling('1m')), aggregate(noMerge)))
    flights((s) => pipe(s, window(session('30s')), aggregate({ n: count, km: fromMonoid(MonoidSum, (f: Flight) => f.delay) })))
    flights((s) => pipe(s, window(session('30s')), aggregate(aggregator({ ...noMerge, merge: (x: number, y: number) => x + y }))))
    expect(build).toThrow(/session windows/)
  })

  it('rejects bad configuration at definition time, naming the constructor', () => {
    expect(() => tumbling('-5m' as '5m')).toThrow(/^tumbling: .*got "-5m"/)
    expect(() => hopping('1m', '5m')).toThrow(/^hopping: hop must not exceed size/)
    expect(() => sliding(0)).toThrow(/^sliding: /)
    expect(() => session('10 s' as '10s')).toThrow(/^session: /)
    expect(() => window(tumbling('1m'), { allowedLateness: -1 })).toThrow(/^window \(allowedLateness\)/)
    expect(() => window(tumbling('1m'), { emit: 'sometimes' as 'final' })).toThrow(/^window: emit must be/)
    // @ts-expect-error a record of aggregations needs at least one: a compile error, and checked at run time too
    expect(() => aggregate({})).toThrow(/^aggregate: .*empty record/)
    expect(() => aggregate({ n: 5 } as never)).toThrow(/^aggregate: field 'n' must be an aggregator/)
  })

  it('tumbling offsets may be negative and are normalized into [0, size)', () => {
    expect(tumbling('1d', { offset: '-5h' })).toEqual({ _tag: 'Tumbling', size: 86_400_000, offset: 19 * 3_600_000 })
    expect(tumbling(10, { offset: 23 })).toEqual({ _tag: 'Tumbling', size: 10, offset: 3 })
  })

  it('windowId is unambiguous for string and number keys', () => {
    expect(windowId('JFK', { start: 0, end: 10 })).toBe('["JFK",0,10]')
    expect(windowId(1, { start: 0, end: 10 })).not.toBe(windowId('1', { start: 0, end: 10 }))
  })

  it('builds one stateful node whose spec drives the interpreter', () => {
    const p = flights((s) => pipe(s, window(hopping('5m', '1m'), { allowedLateness: '30s' }), aggregate({ total: sum((f: Flight) => f.delay) })))
    const node = p.output.node as OperatorNode
    expect(node.kind).toBe('Window')
    expect(node.spec).toMatchObject({ assigner: { _tag: 'Hopping', size: 300_000, hop: 60_000 }, allowedLateness: 30_000, emit: 'final' })
  })
})

describe('windowId', () => {
  it("gives distinct windows distinct changelog keys, also for keys Infinity, -Infinity and NaN (JSON makes all three null)", async () => {
    const p = pipeline({ eventTime: (e: { k: number; t: number }) => e.t }, (s) =>
      pipe(s, keyBy((e) => e.k), window(tumbling(10), { emit: 'updates' }), aggregate(count)),
    )
    const { out } = await run(p, [
      { k: Number.POSITIVE_INFINITY, t: 1 },
      { k: Number.NEGATIVE_INFINITY, t: 2 },
      { k: Number.NaN, t: 3 },
      { k: 0, t: 4 },
    ])
    expect(new Set(out.map((c) => c.key)).size).toBe(4)
    expect(windowId('Infinity', { start: 0, end: 10 })).not.toBe(windowId(Number.POSITIVE_INFINITY, { start: 0, end: 10 }))
    expect(windowId('JFK', { start: 0, end: 3_600_000 })).toBe('["JFK",0,3600000]')
  })
})
