import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, hopping, window } from '../../dsl/windows.ts'
import fc from 'fast-check'
import { aggregator, count, sum } from '../../dsl/aggregations.ts'
import { atMost, evs, runKeyed, summary, values, type Ev } from '../testing/windowRuns.ts'

const at = (h: number, m: number, s = 0) => Date.UTC(2024, 0, 1, h, m, s)

describe('hopping windows', () => {
  it('a 5-minute hopping window with 1-minute hop covers 10:03:00–10:07:59 then 10:04:00–10:08:59', async () => {
    const r = await runKeyed(evs([['a', at(10, 7, 59)], ['a', at(10, 8, 30)]]), 0, (s) =>
      pipe(s, window(hopping('5m', '1m')), aggregate(count)),
    )
    const byStart = new Map(values(r).map((x) => [x.window.start, x]))
    expect(byStart.get(at(10, 3))).toEqual({ key: 'a', window: { start: at(10, 3), end: at(10, 8) }, value: 1 })
    expect(byStart.get(at(10, 4))).toEqual({ key: 'a', window: { start: at(10, 4), end: at(10, 9) }, value: 2 })
  })

  it('puts each event in size / hop windows when hop divides size', async () => {
    const r = await runKeyed(evs([['a', 17]]), 0, (s) => pipe(s, window(hopping(30, 10)), aggregate(count)))
    expect(values(r).map((x) => [x.window.start, x.window.end])).toEqual([
      [-10, 20],
      [0, 30],
      [10, 40],
    ])
  })

  it('an event joins the windows still open and is late only when none is left', async () => {
    const r = await runKeyed(evs([['a', 25], ['a', 5]]), 0, (s) => pipe(s, window(hopping(20, 10)), aggregate(count)))
    // W = 25: [-10, 10) and [0, 20) have passed, so the event at 5 is late with both.
    expect(r.late.map((l) => l.windows)).toEqual([
      [
        { start: -10, end: 10 },
        { start: 0, end: 20 },
      ],
    ])
    const r2 = await runKeyed(evs([['a', 25], ['a', 15]]), 0, (s) => pipe(s, window(hopping(20, 10)), aggregate(count)))
    // W = 25: [0, 20) has passed but [10, 30) is open, so the event at 15 joins it alone.
    expect(r2.late).toEqual([])
    expect(values(r2).find((x) => x.window.start === 10)?.value).toBe(2)
    expect(values(r2).filter((x) => x.window.start === 0)).toEqual([])
  })

  // dsl/aggregations.ts: an `add` that throws sends the event to dead letters and the event counts nowhere.
  it('an add that throws in the second of an event\'s windows leaves it counted in none', async () => {
    // hopping(10, 5). id 0 at 12 fills [5,15) and [10,20). id 1 at 7 belongs to [0,10) (empty: add
    // succeeds) and [5,15) (full: add throws). It must go to dead letters and count nowhere.
    const r = await runKeyed(evs([['a', 12], ['a', 7]]), 100, (s) => pipe(s, window(hopping(10, 5)), aggregate(atMost(1))))
    expect(r.dead.map((d) => [d.pos, d.message])).toEqual([[1, 'full']])
    expect(values(r).map(summary)).toEqual([
      [5, 15, [0]],
      [10, 20, [0]],
    ])
  })

  it('folds the same whether every step is a built-in (one window at a time) or some may throw (prepared first)', async () => {
    const userSum = aggregator({ init: () => 0, add: (acc: number, e: Ev) => acc + e.v, result: (acc: number) => acc })
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 9 })), { maxLength: 40 }),
        fc.integer({ min: 0, max: 10 }),
        async (xs, d) => {
          const events = evs(xs)
          const builtIns = await runKeyed(events, d, (s) => pipe(s, window(hopping(10, 3)), aggregate({ n: count, s: sum((e: Ev) => e.v) })))
          const mixed = await runKeyed(events, d, (s) => pipe(s, window(hopping(10, 3)), aggregate({ n: count, s: sum((e: Ev) => e.v), u: userSum })))
          expect(values(mixed).map((r) => ({ ...r, value: { n: r.value.n, s: r.value.s } }))).toEqual(values(builtIns))
          expect(values(mixed).every((r) => r.value.u === r.value.s)).toBe(true)
          expect(mixed.late).toEqual(builtIns.late)
        },
      ),
      { seed: 7301, numRuns: 100 },
    )
  })

  it('at W == end + L a window is closed to new events: the event joins only the windows with end + L > W', async () => {
    // hopping(20, 10), L = 5, W = 25: [0, 20) has end + L == W, [10, 30) is open.
    const run = (t: number) => runKeyed(evs([['b', 25], ['a', t]]), 0, (s) => pipe(s, window(hopping(20, 10), { allowedLateness: 5 }), aggregate(count)))
    const r = await run(12)
    expect(r.late).toEqual([])
    expect(values(r).filter((x) => x.key === 'a').map(summary)).toEqual([[10, 30, 1]])
    const late = await run(3)
    expect(late.late.map((l) => [l.time, l.watermark, l.windows])).toEqual([
      [
        3,
        25,
        [
          { start: -10, end: 10 },
          { start: 0, end: 20 },
        ],
      ],
    ])
  })
})
