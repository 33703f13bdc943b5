import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hopping, type Hopping, type WindowSpec } from '../../dsl/windows.ts'
import { hoppingKind } from './hopping.ts'
import { hoppingSlicedKind } from './hoppingSliced.ts'
import { windowMachine } from './interpret.ts'
import type { WindowKind } from './WindowCore.ts'
import { makeContext } from '../core/context.ts'
import { AGG, feed, traceAll, tracedCore, type Core, type Ev } from '../testing/tracedWindows.ts'

const spec = (a: Hopping): WindowSpec => ({ assigner: a, allowedLateness: 0, emit: 'final', aggregation: AGG })

/** A machine of either kind, tracing results (with their `pos`) and late events. */
const machine = (a: Hopping, sliced: boolean, out: string[]): Core => {
  const kind: WindowKind<any> = sliced ? hoppingSlicedKind(a) : hoppingKind(a)
  return tracedCore(kind, spec(a), out)
}

const run = (a: Hopping, sliced: boolean, events: readonly Ev[], d: number): string[] => {
  const out: string[] = []
  return traceAll(machine(a, sliced, out), out, events, d)
}

/** Logs of a few keys, times mostly rising with bounded disorder, some events far behind, some long pauses. */
const logArb = fc
  .array(
    fc.record({
      k: fc.constantFrom('a', 'b', 'c'),
      dt: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 80 }) }),
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

/** Overlapping hopping windows: hop below size, sizes not always multiples of the hop. */
const assignerArb = fc.integer({ min: 1, max: 12 }).chain((hop) => fc.integer({ min: hop + 1, max: 50 }).map((size) => hopping(size, hop)))

describe('hoppingSlicedKind', () => {
  it('gives the general path its results, positions and late events, in order and out of order (fixed seed)', () => {
    fc.assert(
      fc.property(logArb, assignerArb, fc.integer({ min: 0, max: 10 }), (log, a, d) => {
        expect(run(a, true, log, d)).toEqual(run(a, false, log, d))
      }),
      { seed: 2123, numRuns: 400 },
    )
  })

  it('restored from a checkpoint at any point, by either path, ends with the output of an uninterrupted run (fixed seed)', () => {
    fc.assert(
      fc.property(logArb, assignerArb, fc.integer({ min: 0, max: 10 }), fc.nat(), fc.boolean(), fc.boolean(), (log, a, d, cutAt, bySliced, intoSliced) => {
        const cut = log.length === 0 ? 0 : cutAt % (log.length + 1)
        const whole = run(a, false, log, d)
        const before: string[] = []
        const first = machine(a, bySliced, before)
        const maxSeen = feed(first, log, d, 0, cut)
        // Through JSON, as a checkpoint file holds it: both paths write the same checkpoint.
        const state = JSON.parse(JSON.stringify(first.snapshot()))
        const after: string[] = []
        const second = machine(a, intoSliced, after)
        second.restore(state)
        feed(second, log, d, cut, log.length, maxSeen)
        second.watermark(Number.POSITIVE_INFINITY)
        expect([...before, ...after]).toEqual(whole)
      }),
      { seed: 2124, numRuns: 400 },
    )
  })

  it('a run that takes a checkpoint after every event gives the output of one that takes none (fixed seed)', () => {
    fc.assert(
      fc.property(logArb, assignerArb, fc.integer({ min: 0, max: 10 }), (log, a, d) => {
        const out: string[] = []
        const core = machine(a, true, out)
        let maxSeen = Number.NEGATIVE_INFINITY
        for (let i = 0; i < log.length; i++) {
          maxSeen = feed(core, log, d, i, i + 1, maxSeen)
          core.snapshot()
        }
        core.watermark(Number.POSITIVE_INFINITY)
        expect(out).toEqual(run(a, true, log, d))
      }),
      { seed: 2125, numRuns: 300 },
    )
  })

  describe('edge cases', () => {
    it("a quiet key's slices are freed with its last window", () => {
      const core = machine(hopping(10, 5), true, [])
      feed(core, [{ k: 'a', t: 3, v: 1 }, { k: 'a', t: 7, v: 1 }], 0)
      core.watermark(15)
      expect(core.openWindows).toBe(0)
      core.push({ k: 'b', t: 20, v: 1 }, 20, 'b', 2)
      core.watermark(Number.POSITIVE_INFINITY)
      expect(core.openKeys).toBe(0)
    })

    it("a key's freed windows are reused by its next ones: the windows it makes are as many as it holds at once", () => {
      const core = machine(hopping(10, 5), true, [])
      const open = core.open.bind(core)
      let made = 0
      core.open = (...args) => (made++, open(...args))
      const events = Array.from({ length: 200 }, (_, t) => ({ k: 'a', t, v: 1 }))
      feed(core, events, 0)
      // 40 windows fired, 2 open at once (3 while one is firing and the next is opened).
      expect(made).toBeLessThanOrEqual(3)
    })

    it("a key's first event opens all its windows but makes one of them (the next to fire) an object", () => {
      const a = hopping(60, 1)
      const core = machine(a, true, [])
      const open = core.open.bind(core)
      let made = 0
      core.open = (...args) => (made++, open(...args))
      core.push({ k: 'a', t: 100, v: 1 }, 100, 'a', 0)
      expect(core.openWindows).toBe(60)
      expect(made).toBe(1)
      // Each of the others is made from the one before it as that one fires: still one object.
      core.watermark(130)
      expect(core.openWindows).toBe(30)
      expect(made).toBe(1)
      // Its snapshot still lists every open window, and a restore gives the same output.
      const out: string[] = []
      const restored = machine(a, true, out)
      restored.restore(core.snapshot())
      restored.watermark(Number.POSITIVE_INFINITY)
      expect(out).toEqual(run(a, true, [{ k: 'a', t: 100, v: 1 }], 0).slice(30))
    })

    it('a freed window kept for reuse holds neither its value nor its result', () => {
      const kind = hoppingSlicedKind(hopping(10, 5))
      const free = kind.free
      const held: unknown[] = []
      kind.free = (ks, w, core) => {
        free(ks, w, core)
        // The freed window may be the key's next at once: only the ones kept for reuse are checked.
        if (ks.spareWins.includes(w)) held.push(w.acc, w.last)
      }
      const core = tracedCore(kind, spec(hopping(10, 5)), [])
      feed(core, [{ k: 'a', t: 3, v: 1 }, { k: 'a', t: 12, v: 2 }, { k: 'a', t: 30, v: 3 }], 0)
      core.watermark(Number.POSITIVE_INFINITY)
      expect(held.length).toBeGreaterThan(0)
      expect(held.every((x) => x === undefined)).toBe(true)
    })

    it('is what windowMachine builds for overlapping hopping windows over built-ins', () => {
      const out: unknown[] = []
      const m = windowMachine(spec(hopping(10, 5)), makeContext(), (r) => out.push(r.value))
      m.push({ k: 'a', t: 7, v: 2 }, 7, 'a', 0)
      m.watermark(Number.POSITIVE_INFINITY)
      expect(out).toEqual([
        { key: 'a', window: { start: 0, end: 10 }, value: { n: 1, total: 2, lo: 2, hi: 2, avg: 2 } },
        { key: 'a', window: { start: 5, end: 15 }, value: { n: 1, total: 2, lo: 2, hi: 2, avg: 2 } },
      ])
    })
  })
})
