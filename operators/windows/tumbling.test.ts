import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count, sum } from '../../dsl/aggregations.ts'
import { evs, runKeyed, values, type Ev } from '../testing/windowRuns.ts'
import { Driver } from '../testing/windowDriver.ts'

const at = (h: number, m: number, s = 0, ms = 0) => Date.UTC(2024, 0, 1, h, m, s, ms)
const MIN = 60_000

describe('tumbling windows', () => {
  it('a 1-minute tumbling window puts 10:03:00–10:03:59 in one window', async () => {
    const r = await runKeyed(evs([['a', at(10, 3, 0)], ['a', at(10, 3, 59, 999)], ['a', at(10, 4, 0)]]), 0, (s) =>
      pipe(s, window(tumbling('1m')), aggregate(count)),
    )
    expect(values(r)).toEqual([
      { key: 'a', window: { start: at(10, 3), end: at(10, 4) }, value: 2 },
      { key: 'a', window: { start: at(10, 4), end: at(10, 5) }, value: 1 },
    ])
  })

  it('aligns windows to the offset', async () => {
    const r = await runKeyed(evs([['a', at(10, 14)], ['a', at(10, 15)], ['a', at(11, 14)]]), 0, (s) =>
      pipe(s, window(tumbling('1h', { offset: '15m' })), aggregate(count)),
    )
    expect(values(r).map((x) => [x.window.start, x.value])).toEqual([
      [at(9, 15), 1],
      [at(10, 15), 2],
    ])
  })

  it('fires a window when the watermark reaches its end: the result comes just before that watermark', async () => {
    const r = await runKeyed(evs([['a', 10], ['a', 20], ['a', 59], ['a', 65]]), 5, (s) => pipe(s, window(tumbling(50)), aggregate(count)))
    const trace = r.out.map((e) => (e._tag === 'Data' ? `r${(e.value as { value: number }).value}@${e.time}` : `w${e.time}`))
    expect(trace).toEqual(['w5', 'w15', 'r2@49', 'w54', 'w60', 'r2@99', 'wInfinity'])
  })

  it('end of input fires every open window, for every key', async () => {
    const r = await runKeyed(evs([['a', 1], ['b', 2], ['c', 3]]), 1000, (s) => pipe(s, window(tumbling(10)), aggregate(count)))
    expect(values(r).map((x) => x.key)).toEqual(['a', 'b', 'c'])
    expect(r.out[r.out.length - 1]).toEqual({ _tag: 'Watermark', time: Number.POSITIVE_INFINITY })
  })

  it('sends an event whose window has passed end + L to late, with the window and the watermark it was judged against', async () => {
    const r = await runKeyed(evs([['a', 5], ['a', 30], ['a', 8]]), 0, (s) => pipe(s, window(tumbling(10)), aggregate(count)))
    expect(values(r).map((x) => [x.window.start, x.value])).toEqual([
      [0, 1],
      [30, 1],
    ])
    expect(r.late).toHaveLength(1)
    expect(r.late[0]).toMatchObject({ _tag: 'Late', stage: 'window', time: 8, key: 'a', pos: 2, watermark: 30, windows: [{ start: 0, end: 10 }] })
  })

  it('with allowed lateness, an event joining a fired window re-emits its updated result; after end + L it is late', async () => {
    const r = await runKeyed(evs([['a', 5], ['a', 12], ['a', 6], ['a', 25], ['a', 7]]), 0, (s) =>
      pipe(s, window(tumbling(10), { allowedLateness: 10 }), aggregate(count)),
    )
    expect(values(r).map((x) => [x.window.start, x.value])).toEqual([
      [0, 1],
      [0, 2],
      [10, 1],
      [20, 1],
    ])
    expect(r.late.map((l) => l.time)).toEqual([7])
  })

  it('keeps windows per key', async () => {
    const r = await runKeyed(evs([['a', 1, 1], ['b', 2, 10], ['a', 3, 100]]), 0, (s) =>
      pipe(s, window(tumbling(10)), aggregate(sum((e: Ev) => e.v))),
    )
    expect(values(r).map((x) => [x.key, x.value])).toEqual([
      ['a', 101],
      ['b', 10],
    ])
  })

  it('sends an event whose aggregation throws to dead letters, leaving no field of the record half-updated', async () => {
    const r = await runKeyed(evs([['a', 1, 1], ['a', 2, -1], ['a', 3, 2]]), 0, (s) =>
      pipe(
        s,
        window(tumbling(MIN)),
        aggregate({
          n: count,
          total: sum((e: Ev) => {
            if (e.v < 0) throw new Error('negative')
            return e.v
          }),
        }),
      ),
    )
    expect(values(r).map((x) => x.value)).toEqual([{ n: 2, total: 3 }])
    expect(r.dead.map((d) => [d.reason, d.stage, d.pos, d.message])).toEqual([['user', 'aggregate', 1, 'negative']])
  })

  it('an event that one of two user aggregations refuses changes neither', async () => {
    const picky = (bad: number) => ({
      init: () => 0,
      add: (acc: number, e: Ev) => {
        if (e.v === bad) throw new Error(`no ${bad}`)
        return acc + e.v
      },
      merge: (x: number, y: number) => x + y,
      result: (acc: number) => acc,
    })
    const r = await runKeyed(evs([['a', 1, 1], ['a', 2, 5], ['a', 3, 7], ['a', 4, 2]]), 0, (s) =>
      pipe(s, window(tumbling(MIN)), aggregate({ x: picky(7), y: picky(5), n: count })),
    )
    expect(values(r).map((x) => x.value)).toEqual([{ x: 3, y: 3, n: 2 }])
    expect(r.dead.map((d) => [d.pos, d.message])).toEqual([
      [1, 'no 5'],
      [2, 'no 7'],
    ])
  })
})

// docs/semantics.md: a window fires when W >= end, its state is kept until W >= end + L, and an event joins
// it only while end + L > W. d = 0, so each event sets W to its own time.
describe('tumbling windows at the boundaries', () => {
  const run = (log: Ev[]) => runKeyed(log, 0, (s) => pipe(s, window(tumbling(10), { allowedLateness: 5 }), aggregate(count)))

  it('an event for [0, 10) at W == end + L == 15 is late: the window was freed by that watermark', async () => {
    const r = await run(evs([['a', 5], ['b', 15], ['a', 6]]))
    expect(r.late.map((l) => [l.time, l.watermark, l.windows])).toEqual([[6, 15, [{ start: 0, end: 10 }]]])
    expect(values(r).filter((x) => x.key === 'a').map((x) => x.value)).toEqual([1])
  })

  it('an event for [0, 10) at W == end + L - 1 == 14 joins it and re-emits it', async () => {
    const r = await run(evs([['a', 5], ['b', 14], ['a', 6]]))
    expect(r.late).toEqual([])
    expect(values(r).filter((x) => x.key === 'a').map((x) => x.value)).toEqual([1, 2])
  })

  it('an event that opens [0, 10) anew at W == end + L is late; at W == end + L - 1 it opens it', async () => {
    const late = await run(evs([['b', 15], ['a', 6]]))
    expect(late.late.map((l) => [l.time, l.watermark])).toEqual([[6, 15]])
    const onTime = await run(evs([['b', 14], ['a', 6]]))
    expect(onTime.late).toEqual([])
    expect(values(onTime).find((x) => x.key === 'a')).toEqual({ key: 'a', window: { start: 0, end: 10 }, value: 1 })
  })

  it('without lateness, [0, 10) fires at W == 10 (not 11) and an event at 9 is then late', async () => {
    const r = await runKeyed(evs([['a', 5], ['b', 10], ['a', 9]]), 0, (s) => pipe(s, window(tumbling(10)), aggregate(count)))
    const trace = r.out.map((e) => (e._tag === 'Data' ? `${(e.value as { key: string }).key}${(e.value as { value: number }).value}` : `w${e.time}`))
    expect(trace.slice(0, 3)).toEqual(['w5', 'a1', 'w10'])
    expect(r.late.map((l) => [l.time, l.watermark])).toEqual([[9, 10]])
  })

  it('an event joining a fired window re-emits its result at once (end == W), not at the next watermark', () => {
    const d = new Driver({ assigner: tumbling(10), allowedLateness: 5, emit: 'final', aggregation: count }, 0)
    d.event('a', 5, null, 0)
    d.event('b', 10, null, 1)
    d.event('a', 6, null, 2)
    expect(d.trace.map((x) => (x.startsWith('d') ? (JSON.parse(x.slice(1)) as { value: { value: number } }).value.value : x))).toEqual(['w5', 1, 'w10', 2])
  })
})
