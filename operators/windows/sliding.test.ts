import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, sliding, tumbling, window } from '../../dsl/windows.ts'
import { count, mean } from '../../dsl/aggregations.ts'
import { atMost, evs, runKeyed, summary, values, type Ev } from '../testing/windowRuns.ts'

const at = (h: number, m: number, s = 0) => Date.UTC(2024, 0, 1, h, m, s)

describe('sliding windows', () => {
  it('a 5-minute sliding window holds events at 10:03:39 and 10:08:12 (tumbling 5-minute windows do not)', async () => {
    const log = evs([['a', at(10, 3, 39)], ['a', at(10, 8, 12)]])
    const r = await runKeyed(log, 0, (s) => pipe(s, window(sliding('5m')), aggregate(count)))
    expect(values(r)).toEqual([
      { key: 'a', window: { start: at(9, 58, 39) + 1, end: at(10, 3, 39) + 1 }, value: 1 },
      { key: 'a', window: { start: at(10, 3, 12) + 1, end: at(10, 8, 12) + 1 }, value: 2 },
    ])
    const t = await runKeyed(log, 0, (s) => pipe(s, window(tumbling('5m')), aggregate(count)))
    expect(values(t).map((x) => x.value)).toEqual([1, 1])
  })

  it('events with equal key and time share one window', async () => {
    const r = await runKeyed(evs([['a', 10], ['a', 10], ['b', 10]]), 0, (s) => pipe(s, window(sliding(5)), aggregate(count)))
    expect(values(r).map((x) => [x.key, x.value])).toEqual([
      ['a', 2],
      ['b', 1],
    ])
  })

  it('two events share a window iff their times differ by less than size', async () => {
    const r = await runKeyed(evs([['a', 0], ['a', 4], ['a', 9]]), 0, (s) => pipe(s, window(sliding(5)), aggregate(count)))
    expect(values(r).map((x) => [x.window.end - 1, x.value])).toEqual([
      [0, 1],
      [4, 2],
      [9, 1], // 9 - 4 = 5 is not less than the size
    ])
  })

  it('an out-of-order event joins the open windows of later events that contain it, and opens its own', async () => {
    const r = await runKeyed(evs([['a', 10, 1], ['a', 12, 3], ['a', 11, 5]]), 100, (s) =>
      pipe(s, window(sliding(5)), aggregate(mean((e: Ev) => e.v))),
    )
    expect(values(r).map((x) => [x.window.end - 1, x.value])).toEqual([
      [10, 1],
      [11, 3], // 10 and 11: mean of 1 and 5
      [12, 3], // 10, 11 and 12: mean of 1, 5 and 3
    ])
  })

  it('an event too late for its own window still joins open windows that contain it, and is late only if it can do neither', async () => {
    // W = 21 when the event at 18 arrives: its own window [14, 19) and that of 20 have passed, but 21's, [17, 22), is open.
    const r = await runKeyed(evs([['a', 20], ['a', 21], ['a', 18], ['a', 10]]), 0, (s) => pipe(s, window(sliding(5)), aggregate(count)))
    expect(values(r).map((x) => [x.window.end - 1, x.value])).toEqual([
      [20, 1],
      [21, 3],
    ])
    expect(r.late.map((l) => [l.time, l.windows])).toEqual([[10, [{ start: 6, end: 11 }]]])
  })

  // dsl/aggregations.ts: an `add` that throws sends the event to dead letters and the event counts nowhere.
  it('an add that throws in a later window the event joins leaves it counted in none', async () => {
    // sliding(10), at most two events per window. id 0 at 10 opens [1,11) = {0}; id 1 at 15 opens
    // [6,16) = {0, 1} (full). id 2 at 7 joins [1,11) (add succeeds) and [6,16) (full: add throws).
    const r = await runKeyed(evs([['a', 10], ['a', 15], ['a', 7]]), 100, (s) => pipe(s, window(sliding(10)), aggregate(atMost(2))))
    expect(r.dead.map((d) => [d.pos, d.message])).toEqual([[2, 'full']])
    expect(values(r).map(summary)).toEqual([
      [1, 11, [0]],
      [6, 16, [0, 1]],
    ])
  })

  it('an event opens its own window only if t + 1 + L > W: at t + 1 + L == W it is late (no other window to join)', async () => {
    // sliding(10), L = 5, W = 20 after the event of key b.
    const run = (t: number) => runKeyed(evs([['b', 20], ['a', t]]), 0, (s) => pipe(s, window(sliding(10), { allowedLateness: 5 }), aggregate(count)))
    const late = await run(14)
    expect(late.late.map((l) => [l.time, l.watermark, l.windows])).toEqual([[14, 20, [{ start: 5, end: 15 }]]])
    const onTime = await run(15)
    expect(onTime.late).toEqual([])
    expect(values(onTime).filter((x) => x.key === 'a').map(summary)).toEqual([[6, 16, 1]])
  })
})
