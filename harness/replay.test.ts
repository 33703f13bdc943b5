import { describe, expect, it } from 'vitest'
import { bufferTime, map as rxMap, type Observable } from 'rxjs'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { asyncMap } from '../dsl/flow.ts'
import { boundedOutOfOrder, idleTimeout } from '../dsl/watermarks.ts'
import { operatorNode, stream, type Stream, type Unkeyed } from '../dsl/stream.ts'
import { stageKinds } from '../dsl/interpreters.ts'
import type { Element } from '../dsl/element.ts'
import { FailFastError } from '../operators/core/context.ts'
import { VirtualClock } from './VirtualClock.ts'
import { formatRecord } from './log.ts'
import { replay } from './replay.ts'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { microbatch } from '../dsl/flow.ts'

// Test-only stages that look at the run's scheduler, registered under kinds no real stage uses.
stageKinds['test.replay.stamp'] = {
  operator: (_n, [input], ctx) => input.pipe(rxMap((e) => (e._tag === 'Data' ? { ...e, value: { v: e.value, now: ctx.scheduler.now() } } : e))),
}
stageKinds['test.replay.bufferTime'] = {
  operator: (n, [input], ctx) =>
    (input as Observable<Element<unknown>>).pipe(
      bufferTime(n.spec as number, ctx.scheduler),
      rxMap((es) => ({
        _tag: 'Data' as const,
        value: { at: ctx.scheduler.now(), values: es.flatMap((e) => (e._tag === 'Data' ? [e.value] : [])) },
        time: ctx.scheduler.now(),
        key: undefined,
        pos: 0,
      })),
    ),
}
const stamp = <A, K>(s: Stream<A, K>): Stream<{ v: A; now: number }, Unkeyed> =>
  stream(operatorNode('test.replay.stamp', 'stamp', [s.node], {}))
const everyMs = (ms: number) => <A, K>(s: Stream<A, K>): Stream<{ at: number; values: A[] }, Unkeyed> =>
  stream(operatorNode('test.replay.bufferTime', `bufferTime(${ms})`, [s.node], ms))

const Flight = t.type({ id: t.number, scheduled: t.number, delay: t.number, distance: t.number, origin: t.string, destination: t.string })
const FLIGHTS = 'examples/data/flights.ndjson'

const line = (arrival: number, event: unknown, extra: { offset?: number; topic?: string } = {}) =>
  formatRecord({ ...extra, arrival, event })

describe('replay', () => {
  it('delivers each record at its arrival on the virtual clock, with pos = offset', async () => {
    const p = pipeline({}, (s) => pipe(s, stamp))
    const lines = [line(1000, 'a', { offset: 7 }), line(1500, 'b', { offset: 8 }), line(1500, 'c'), line(4000, 'd')]
    const { out } = await replay(p, lines)
    expect(out).toEqual([
      { v: 'a', now: 1000 },
      { v: 'b', now: 1500 },
      { v: 'c', now: 1500 },
      { v: 'd', now: 4000 },
    ])
  })

  it('fires timers due before a record first: idle watermarks advance during a quiet gap', async () => {
    const marks: number[] = []
    const p = pipeline({ watermark: [boundedOutOfOrder(0), idleTimeout(1000)] }, (s) => s)
    const { out } = await replay(p, [line(0, 'a'), line(100, 'b'), line(5000, 'c')], { onWatermark: (w) => marks.push(w) })
    expect(out).toEqual(['a', 'b', 'c'])
    expect(marks).toEqual([0, 100, 1100, 2100, 3100, 4100, 5000, Number.POSITIVE_INFINITY])
  })

  it("runs RxJS's bufferTime inside a stage on the replay clock", async () => {
    const p = pipeline({}, (s) => pipe(s, everyMs(1000)))
    const { out } = await replay(p, [line(0, 1), line(300, 2), line(1200, 3), line(3500, 4)])
    expect(out).toEqual([
      { at: 1000, values: [1, 2] },
      { at: 2000, values: [3] },
      { at: 3000, values: [] },
      { at: 3500, values: [4] },
    ])
  })

  it('sends malformed lines to dead letters with their line numbers and goes on', async () => {
    const p = pipeline({ codec: t.type({ n: t.number }) }, (s) => pipe(s, map((e) => e.n)))
    const lines = [line(1, { n: 1 }), '{broken', line(2, { n: 'two' }), '[1]', '', line(3, { n: 3 })]
    const { out, deadLetters, metrics } = await replay(p, lines)
    expect(out).toEqual([1, 3])
    expect(deadLetters.map((d) => [d.reason, d.pos])).toEqual([
      ['parse', 2],
      ['codec', 3],
      ['parse', 4],
    ])
    expect(metrics).toMatchObject({ eventsIn: 5, eventsOut: 2, deadLetters: 3, late: 0 })
  })

  it('counts dead letters found before the first record, and starts the clock at the first record', async () => {
    const p = pipeline({}, (s) => pipe(s, stamp))
    const { out, deadLetters } = await replay(p, ['nope', line(5_000_000, 'x')])
    expect(deadLetters.map((d) => d.pos)).toEqual([1])
    expect(out).toEqual([{ v: 'x', now: 5_000_000 }])
  })

  it('rejects with a FailFastError at the first malformed line when failFast is set', async () => {
    const p = pipeline({}, (s) => s)
    await expect(replay(p, [line(1, 'a'), 'oops', line(2, 'b')], { failFast: true })).rejects.toBeInstanceOf(FailFastError)
    await expect(replay(p, ['oops'], { failFast: true })).rejects.toThrow(/parse at position 1/)
  })

  it('rejects with a FailFastError when a user function throws under failFast, and reads no further', async () => {
    let calls = 0
    const p = pipeline({ codec: t.number }, (s) =>
      pipe(
        s,
        map((x: number) => {
          calls++
          if (x === 2) throw new Error('two')
          return x
        }),
      ),
    )
    const lines = Array.from({ length: 10_000 }, (_, i) => line(i, i))
    await expect(replay(p, lines, { failFast: true })).rejects.toThrow(/map: user at position 3: two/)
    expect(calls).toBe(3)
  })

  it('replays only the chosen topic', async () => {
    const p = pipeline({}, (s) => s)
    const lines = [line(1, 'a', { topic: 'x' }), line(2, 'b', { topic: 'y' }), line(3, 'c', { topic: 'x' })]
    const { out, metrics } = await replay(p, lines, { topic: 'x' })
    expect(out).toEqual(['a', 'c'])
    expect(metrics.eventsIn).toBe(2)
  })

  it('runs an empty log: the end-of-input watermark still flows, nothing comes out', async () => {
    const marks: number[] = []
    const { out, metrics } = await replay(pipeline({}, (s) => s), [], { onWatermark: (w) => marks.push(w) })
    expect(out).toEqual([])
    expect(marks).toEqual([Number.POSITIVE_INFINITY])
    expect(metrics.eventsIn).toBe(0)
  })

  it('uses the clock it is given', async () => {
    const clock = new VirtualClock(0)
    await replay(pipeline({}, (s) => s), [line(10, 'a'), line(20, 'b')], { clock })
    expect(clock.now()).toBe(20)
  })

  it('holds the log back while async stages hold the credit window, and drains them before resolving', async () => {
    let inFlight = 0
    let maxInFlight = 0
    const p = pipeline({ codec: t.number }, (s) =>
      pipe(
        s,
        asyncMap(
          async (x: number) => {
            inFlight++
            maxInFlight = Math.max(maxInFlight, inFlight)
            await new Promise((r) => setTimeout(r, 0))
            inFlight--
            return x * 2
          },
          { concurrency: 4 },
        ),
      ),
    )
    const lines = Array.from({ length: 200 }, (_, i) => line(i, i))
    const { out } = await replay(p, lines, { highWaterMark: 8 })
    expect(out).toEqual(Array.from({ length: 200 }, (_, i) => i * 2))
    expect(maxInFlight).toBeLessThanOrEqual(4)
    expect(inFlight).toBe(0)
  })

  it('keeps no output in memory when keepOutput is false, streaming it to onOutput instead', async () => {
    const seen: string[] = []
    const { out, metrics } = await replay(pipeline({}, (s) => s), [line(1, 'a'), line(2, 'b')], {
      keepOutput: false,
      onOutput: (o) => seen.push(o as string),
    })
    expect(out).toEqual([])
    expect(seen).toEqual(['a', 'b'])
    expect(metrics.eventsOut).toBe(2)
  })

  it('replays the bundled flights log from its file, the same output byte for byte on every run', async () => {
    const p = pipeline({ codec: Flight, eventTime: (f) => f.scheduled, watermark: boundedOutOfOrder('6h') }, (s) =>
      pipe(
        s,
        keyBy((f) => f.origin),
        map((f) => ({ id: f.id, origin: f.origin, late: f.delay > 15 })),
      ),
    )
    const progress: number[] = []
    const a = await replay(p, FLIGHTS, { onProgress: (pr) => progress.push(pr.bytesRead) })
    const b = await replay(p, FLIGHTS, { chunkSize: 4096 })
    expect(a.metrics).toMatchObject({ eventsIn: 20_000, eventsOut: 20_000, deadLetters: 0 })
    expect(JSON.stringify(b.out)).toBe(JSON.stringify(a.out))
    expect(a.out[0]).toEqual({ id: 3, origin: 'LAS', late: false })
    expect(progress.at(-1)).toBeGreaterThan(1_000_000)
  })
})

describe('replay of a log file', () => {
  it('gives byte for byte the output of the same lines each parsed by JSON.parse (a file\'s lines are parsed by their shape)', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) =>
      formatRecord({ offset: i + 1, arrival: 1_000 + i * 7, topic: 't', event: { at: 1_000 + i * 7 - (i % 5) * 3, user: `u${i % 17}`, amount: (i % 13) / 8 - 0.5, tag: i % 11 === 0 ? 'é' : 'a' } }),
    )
    lines[1234] = '{"offset":1235,"arrival":9641,"topic":"t","event":{"at":9640,"user":"u0","amount":1e-7,"tag":"a"}}'
    lines[2000] = '{"offset":2001,"arrival":15001,"topic":"t","event":{"at":oops}}'
    const path = join(mkdtempSync(join(tmpdir(), 'weir-replay-')), 'shaped.ndjson')
    writeFileSync(path, lines.join('\n') + '\n')
    const spend = pipeline({ eventTime: (e: { at: number; user: string; amount: number }) => e.at, watermark: boundedOutOfOrder(50) }, (s) =>
      pipe(s, keyBy((e) => e.user), map((e) => ({ user: e.user, amount: e.amount * 3, at: e.at }))),
    )
    const fromFile = await replay(spend, path, { chunkSize: 4096 })
    const fromLines = await replay(spend, lines)
    expect(JSON.stringify(fromFile.out)).toBe(JSON.stringify(fromLines.out))
    expect(fromFile.out).toHaveLength(2999)
    expect(fromFile.deadLetters).toEqual(fromLines.deadLetters)
    expect(fromFile.deadLetters).toHaveLength(1)
  })
})

describe('edge cases', () => {
  // Each found by a review, and failing before its fix.
  const dir = mkdtempSync(join(tmpdir(), 'weir-edges-'))

  describe('virtual time', () => {
    it('an async stage takes no virtual time: its results reach microbatch at their record arrival, whatever the chunk size', async () => {
      const path = join(dir, 'async.ndjson')
      writeFileSync(path, Array.from({ length: 30 }, (_, i) => formatRecord({ arrival: i * 100, event: i })).join('\n') + '\n')
      const p = pipeline({}, (s: Stream<number>) => pipe(s, asyncMap(async (x: number) => x), microbatch(1000, '50ms')))
      // Records 100 ms apart, maxWait 50 ms: every block holds one event.
      const expected = Array.from({ length: 30 }, (_, i) => [i])
      const a = await replay(p, path)
      const b = await replay(p, path, { chunkSize: 64 })
      expect({ defaultChunks: a.out, smallChunks: b.out }).toEqual({ defaultChunks: expected, smallChunks: expected })
    })
  })
})
