import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { hopping, session, sliding, tumbling, type WindowAssigner, type WindowSpec } from '../../dsl/windows.ts'
import { count, max, mean, sum, type MergeableAggregator } from '../../dsl/aggregations.ts'
import type { Key } from '../../dsl/stream.ts'
import { makeContext } from '../core/context.ts'
import { windowKind } from './interpret.ts'
import { WindowCore } from './WindowCore.ts'

interface Ev {
  readonly k: string
  readonly t: number
  readonly v: number
}

/**
 * A user aggregator that throws on events with value `bad` (and must then change nothing). Its `add`
 * returns a new accumulator: one updated in place could not be undone when another field refuses.
 */
const pickyAbout = (bad: number): MergeableAggregator<Ev, number[], number> => ({
  init: () => [0],
  add: (acc, e) => {
    if (e.v === bad) throw new Error(`no ${bad}`)
    return [acc[0] + e.v]
  },
  merge: (x, y) => [x[0] + y[0]],
  result: (acc) => acc[0],
})
const picky = pickyAbout(13)

/**
 * Runs one machine over `events` with `boundedOutOfOrder(d)` watermarks, as ingest drives it, and
 * traces everything it does: results, late events, dead letters, watermarks.
 */
const trace = (spec: WindowSpec, inOrder: boolean, events: readonly Ev[], d: number): string[] => {
  const out: string[] = []
  const ctx = makeContext({ onLate: (l) => out.push(`late ${l.pos}`), onDeadLetter: (x) => out.push(`dead ${x.pos} ${x.message}`) })
  const kind = windowKind(spec.assigner)
  const core = new WindowCore(inOrder ? kind : { ...kind, inOrder: undefined }, spec, ctx, (r) => out.push(JSON.stringify(r)))
  let max = Number.NEGATIVE_INFINITY
  events.forEach((e, pos) => {
    core.push(e, e.t, e.k as Key, pos)
    if (e.t > max) {
      max = e.t
      core.watermark(max - d)
      out.push(`W ${max - d}`)
    }
  })
  core.watermark(Number.POSITIVE_INFINITY)
  return out
}

const events = fc.array(
  fc.record({ k: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 400 }), v: fc.integer({ min: 0, max: 20 }) }),
  { maxLength: 80 },
)

describe('the generated in-order path does exactly what the general path does', () => {
  const assigners: [string, WindowAssigner][] = [
    ['tumbling', tumbling(50)],
    ['tumbling with offset', tumbling(50, { offset: 7 })],
    ['session', session(20)],
  ]
  for (const [name, assigner] of assigners)
    it(`${name}: same results, late events and dead letters, for any order and lateness`, () => {
      fc.assert(
        fc.property(events, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), (evs, d, L) => {
          const spec: WindowSpec = {
            assigner,
            allowedLateness: L,
            emit: 'final',
            aggregation: { n: count, top: max((e: Ev) => (e.v === 17 ? (null as unknown as Ev).v : e.v)), total: sum((e: Ev) => e.v), own: picky },
          }
          expect(trace(spec, true, evs, d)).toEqual(trace(spec, false, evs, d))
        }),
        { seed: 7201, numRuns: 300 },
      )
    })

  it('is used for in-order events and not in updates mode (where every event emits)', () => {
    const spec = (emit: 'final' | 'updates'): WindowSpec => ({ assigner: tumbling(50), allowedLateness: 0, emit, aggregation: count })
    const core = new WindowCore(windowKind(tumbling(50)), spec('final'), makeContext(), () => undefined)
    expect(core.push).not.toBe(core.pushSlow)
    expect(core.push.name).toBe('push')
    const updates = new WindowCore(windowKind(tumbling(50)), spec('updates'), makeContext(), () => undefined)
    let slow = 0
    const general = updates.pushSlow.bind(updates)
    updates.pushSlow = (...a) => (slow++, general(...a))
    updates.push('x', 1, 'a', 0)
    updates.push('x', 2, 'a', 1)
    expect(slow).toBe(2)
  })
})

describe('an add that throws leaves no trace: the event counts in no window and no field', () => {
  const assigners: [string, WindowAssigner][] = [
    ['tumbling', tumbling(50)],
    ['hopping', hopping(50, 20)],
    ['sliding', sliding(30)],
    ['session', session(20)],
  ]
  for (const [name, assigner] of assigners)
    it(name, () => {
      fc.assert(
        fc.property(events, (evs) => {
          // Two fields that may throw, on different events: each refusal must undo the other's step too,
          // and `mean`'s, which updates its accumulator in place.
          const aggregation = { n: count, avg: mean((e: Ev) => e.v), own: picky, more: pickyAbout(7), total: sum((e: Ev) => e.v) }
          const spec: WindowSpec = { assigner, allowedLateness: 0, emit: 'final', aggregation }
          // No watermark passes any window before the end, so dropping events changes nothing else.
          const withBad = trace(spec, true, evs, 10_000).filter((l) => l.startsWith('{'))
          const withoutBad = trace(spec, true, evs.filter((e) => e.v !== 13 && e.v !== 7), 10_000).filter((l) => l.startsWith('{'))
          const strip = (ls: string[]) => ls.map((l) => JSON.parse(l).value)
          expect(strip(withBad)).toEqual(strip(withoutBad))
        }),
        { seed: 7202, numRuns: 200 },
      )
    })
})

describe('record results', () => {
  it('are plain records with the aggregation names, even odd ones', () => {
    const out: unknown[] = []
    const spec: WindowSpec = {
      assigner: tumbling(10),
      allowedLateness: 0,
      emit: 'final',
      aggregation: { n: count, 'avg delay': sum((e: Ev) => e.v), ['__proto__']: max((e: Ev) => e.v) } as WindowSpec['aggregation'],
    }
    const core = new WindowCore(windowKind(spec.assigner), spec, makeContext(), (r) => out.push((r.value as { value: unknown }).value))
    core.push({ k: 'a', t: 1, v: 4 }, 1, 'a', 0)
    core.push({ k: 'a', t: 2, v: 6 }, 2, 'a', 1)
    core.watermark(Number.POSITIVE_INFINITY)
    expect(out).toHaveLength(1)
    const r = out[0] as Record<string, number>
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype)
    expect(Object.keys(r)).toEqual(['n', 'avg delay', '__proto__'])
    expect([r.n, r['avg delay'], Object.getOwnPropertyDescriptor(r, '__proto__')?.value]).toEqual([2, 10, 6])
  })
})
