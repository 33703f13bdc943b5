import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sliding, type WindowSpec } from '../../dsl/windows.ts'
import type { AggregateSpec } from '../../dsl/aggregations.ts'
import { makeContext } from '../core/context.ts'
import { compileAggregator } from './aggregator.ts'
import { windowMachine } from './interpret.ts'
import type { WindowKind } from './WindowCore.ts'
import { AGG, feed, traceAll, tracedCore, type Core, type Ev } from '../testing/tracedWindows.ts'
import { slidingKind } from './sliding.ts'
import { incrementalWindows, slidingIncrementalKind } from './slidingIncremental.ts'

const spec = (size: number, aggregation: AggregateSpec = AGG): WindowSpec => ({
  assigner: sliding(size),
  allowedLateness: 0,
  emit: 'final',
  aggregation,
})

/** A machine of either kind, tracing results (with their `pos`) and late events. */
const machine = (s: WindowSpec, incremental: boolean, out: string[]): Core => {
  const a = s.assigner as ReturnType<typeof sliding>
  const kind: WindowKind<any> = incremental ? slidingIncrementalKind(a) : slidingKind(a)
  return tracedCore(kind, s, out)
}

const run = (s: WindowSpec, incremental: boolean, events: readonly Ev[], d: number): string[] => {
  const out: string[] = []
  return traceAll(machine(s, incremental, out), out, events, d)
}

/** Logs of a few keys, times mostly rising with bounded disorder, some events far behind (late or joining open windows). */
const logArb = fc
  .array(
    fc.record({
      k: fc.constantFrom('a', 'b', 'c'),
      dt: fc.integer({ min: 0, max: 6 }),
      back: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 60 }) }),
      v: fc.integer({ min: -50, max: 50 }),
    }),
    { maxLength: 120 },
  )
  .map((xs) => {
    let now = 1000
    return xs.map(({ k, dt, back, v }) => {
      now += dt
      return { k, t: now - back, v }
    })
  })

describe('slidingIncrementalKind', () => {
  it('is chosen for built-in aggregations, no lateness and final emission only', () => {
    const agg = compileAggregator(AGG)
    expect(incrementalWindows(spec(10), agg)).toBe(true)
    expect(incrementalWindows({ ...spec(10), allowedLateness: 5 }, agg)).toBe(false)
    expect(incrementalWindows({ ...spec(10), emit: 'updates' }, agg)).toBe(false)
    const user = { init: () => 0, add: (a: number) => a + 1, merge: (x: number, y: number) => x + y, result: (a: number) => a }
    expect(incrementalWindows(spec(10, { n: user }), compileAggregator({ n: user }))).toBe(false)
  })

  it('gives the general path its results, positions and late events, in order and out of order (fixed seed)', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 10 }), (log, size, d) => {
        expect(run(spec(size), true, log, d)).toEqual(run(spec(size), false, log, d))
      }),
      { seed: 2121, numRuns: 400 },
    )
  })

  it('restored from a checkpoint at any point, by either path, ends with the output of an uninterrupted run (fixed seed)', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 10 }), fc.nat(), fc.boolean(), fc.boolean(), (log, size, d, cutAt, byIncremental, intoIncremental) => {
        const cut = log.length === 0 ? 0 : cutAt % (log.length + 1)
        const whole = run(spec(size), true, log, d)
        const before: string[] = []
        const first = machine(spec(size), byIncremental, before)
        const maxSeen = feed(first, log, d, 0, cut)
        // Through JSON, as a checkpoint file holds it: the two paths read each other's checkpoints.
        const state = JSON.parse(JSON.stringify(first.snapshot()))
        const after: string[] = []
        const second = machine(spec(size), intoIncremental, after)
        second.restore(state)
        feed(second, log, d, cut, log.length, maxSeen)
        second.watermark(Number.POSITIVE_INFINITY)
        expect([...before, ...after]).toEqual(whole)
      }),
      { seed: 2122, numRuns: 400 },
    )
  })

  describe('edge cases', () => {
    it('events at one time share a window; a window holds exactly the events within its bounds', () => {
      const log: Ev[] = [
        { k: 'a', t: 10, v: 1 },
        { k: 'a', t: 10, v: 2 },
        { k: 'a', t: 14, v: 4 },
        { k: 'a', t: 15, v: 8 },
      ]
      const out = run(spec(5), true, log, 0).map((x) => JSON.parse(x).value)
      expect(out.map((r: { window: unknown; value: { total: number } }) => [r.window, r.value.total])).toEqual([
        [{ start: 6, end: 11 }, 3],
        [{ start: 10, end: 15 }, 7],
        [{ start: 11, end: 16 }, 12],
      ])
    })

    it('an event behind the watermark joins the open windows holding it, and is late when none does', () => {
      const log: Ev[] = [
        { k: 'a', t: 10, v: 1 },
        { k: 'a', t: 20, v: 1 },
        { k: 'a', t: 18, v: 5 }, // behind W = 20, joins [16, 21)
        { k: 'a', t: 2, v: 7 }, // joins nothing: late
      ]
      expect(run(spec(5), true, log, 0)).toEqual(run(spec(5), false, log, 0))
      expect(run(spec(5), true, log, 0)).toContain('late 3')
    })

    it("a quiet key's events are freed once out of every window's reach (memory bounded by the window)", () => {
      const out: string[] = []
      const core = machine(spec(10), true, out)
      feed(core, [{ k: 'a', t: 5, v: 1 }, { k: 'a', t: 8, v: 1 }, { k: 'b', t: 9, v: 1 }], 0)
      core.watermark(18) // a's events (5, 8) out of reach from 18; b's (9) until 19
      expect(core.snapshot().keys.map(([k]: readonly [unknown, unknown]) => k)).toEqual(['b'])
      core.watermark(19)
      expect(core.openKeys).toBe(0)
      expect(core.openWindows).toBe(0)
    })

    it('is what windowMachine builds for a sliding window over built-ins', () => {
      const out: unknown[] = []
      const m = windowMachine(spec(3), makeContext(), (r) => out.push(r.value))
      m.push({ k: 'a', t: 1, v: 2 }, 1, 'a', 0)
      m.watermark(Number.POSITIVE_INFINITY)
      expect(out).toEqual([{ key: 'a', window: { start: -1, end: 2 }, value: { n: 1, total: 2, lo: 2, hi: 2, avg: 2 } }])
    })
  })
})
