import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, session, window, type WindowResult } from '../../dsl/windows.ts'
import { count, sum, type MergeableAggregator } from '../../dsl/aggregations.ts'
import type { Change } from '../../dsl/change.ts'
import { evs, runKeyed, summary, values, type Ev } from '../testing/windowRuns.ts'

describe('session windows', () => {
  it('groups runs of events less than gap apart into [first, last + gap)', async () => {
    const r = await runKeyed(evs([['a', 0], ['a', 9], ['a', 19], ['a', 30]]), 0, (s) => pipe(s, window(session(10)), aggregate(count)))
    expect(values(r).map((x) => [x.window.start, x.window.end, x.value])).toEqual([
      [0, 19, 2],
      [19, 29, 1],
      [30, 40, 1],
    ])
  })

  it('an out-of-order event that bridges two sessions merges them', async () => {
    const r = await runKeyed(evs([['a', 0, 1], ['a', 12, 2], ['a', 6, 4]]), 20, (s) =>
      pipe(s, window(session(10)), aggregate(sum((e: Ev) => e.v))),
    )
    expect(values(r)).toEqual([{ key: 'a', window: { start: 0, end: 22 }, value: 7 }])
  })

  it("in 'updates' mode, sessions merged away (or grown) are retracted with delete", async () => {
    const r = await runKeyed(evs([['a', 0], ['a', 12], ['a', 6]]), 20, (s) =>
      pipe(s, window(session(10), { emit: 'updates' }), aggregate(count)),
    )
    const log = values(r) as Change<string, WindowResult<string, number>>[]
    expect(log.map((c) => [c.op, c.key, c.after?.value])).toEqual([
      ['upsert', '["a",0,10]', 1],
      ['upsert', '["a",12,22]', 1],
      ['delete', '["a",12,22]', undefined],
      ['delete', '["a",0,10]', undefined],
      ['upsert', '["a",0,22]', 3],
    ])
    expect(log[2].before).toEqual({ key: 'a', window: { start: 12, end: 22 }, value: 1 })
  })

  describe("'final' mode with allowed lateness: a result that supersedes earlier ones says which", () => {
    it('session(10), allowedLateness(100), events at 0, 20, 5: [0,15):2 replaces [0,10):1 (it was never withdrawn)', async () => {
      const r = await runKeyed(evs([['a', 0], ['a', 20], ['a', 5]]), 0, (s) =>
        pipe(s, window(session(10), { allowedLateness: 100 }), aggregate(count)),
      )
      expect(values(r)).toEqual([
        { key: 'a', window: { start: 0, end: 10 }, value: 1 },
        { key: 'a', window: { start: 0, end: 15 }, value: 2, replaces: [{ start: 0, end: 10 }] },
        { key: 'a', window: { start: 20, end: 30 }, value: 1 },
      ])
    })

    it('sessions merged after firing are all replaced, each stale result listed once, by start', async () => {
      // [0,10) and [12,22) fire at W = 22 (d = 0); 6 bridges them into [0,22); then 3 joins it (same bounds).
      const r = await runKeyed(evs([['a', 0], ['a', 12], ['a', 30], ['a', 6], ['a', 3]]), 0, (s) =>
        pipe(s, window(session(10), { allowedLateness: 100 }), aggregate(count)),
      )
      expect(values(r).map((x) => [x.window.start, x.window.end, x.value, x.replaces])).toEqual([
        [0, 10, 1, undefined],
        [12, 22, 1, undefined],
        [0, 22, 3, [{ start: 0, end: 10 }, { start: 12, end: 22 }]],
        [0, 22, 4, undefined],
        [30, 40, 1, undefined],
      ])
    })

    it('a session that grew before firing again replaces what it had emitted, not what it replaced before', async () => {
      // [0,10) fires at W = 12; 5 bridges it and [12,22) (not fired) into [0,22), not yet due; 14 grows it to [0,24).
      const r = await runKeyed(evs([['a', 0], ['a', 12], ['a', 5], ['a', 14], ['a', 40]]), 0, (s) =>
        pipe(s, window(session(10), { allowedLateness: 100 }), aggregate(count)),
      )
      expect(values(r).map((x) => [x.window.start, x.window.end, x.value, x.replaces])).toEqual([
        [0, 10, 1, undefined],
        [0, 24, 4, [{ start: 0, end: 10 }]],
        [40, 50, 1, undefined],
      ])
    })
  })

  it('a freed session never merges again: an event within gap of it starts a new session', async () => {
    // d = 0, gap 3: the session [69, 72) is freed at W = 72; the event at 71 cannot reach it.
    const r = await runKeyed(evs([['b', 69], ['a', 72], ['b', 71]]), 0, (s) => pipe(s, window(session(3)), aggregate(count)))
    expect(values(r).map((x) => [x.key, x.window.start, x.window.end])).toEqual([
      ['b', 69, 72],
      ['b', 71, 74],
      ['a', 72, 75],
    ])
  })

  it('an event with no open session to join is late when t + gap + L <= W', async () => {
    const r = await runKeyed(evs([['a', 100], ['a', 50]]), 0, (s) => pipe(s, window(session(10), { allowedLateness: 30 }), aggregate(count)))
    expect(r.late.map((l) => [l.time, l.windows])).toEqual([[50, [{ start: 50, end: 60 }]]])
  })

  it('sessions are per key', async () => {
    const r = await runKeyed(evs([['a', 0], ['b', 5], ['a', 8]]), 0, (s) => pipe(s, window(session(10)), aggregate(count)))
    expect(values(r).map((x) => [x.key, x.value])).toEqual([
      ['b', 1],
      ['a', 2],
    ])
  })

  it('a merge that throws sends the bridging event to dead letters and leaves both sessions as they were', async () => {
    // Sums that refuse to merge past 10: the event at 6 bridges [0, 10) (sum 1) and [12, 22) (sum 20).
    const cappedSum = {
      init: () => 0,
      add: (acc: number, e: Ev) => acc + e.v,
      merge: (x: number, y: number) => {
        if (x + y > 10) throw new Error('too big to merge')
        return x + y
      },
      result: (acc: number) => acc,
    }
    const r = await runKeyed(evs([['a', 0, 1], ['a', 12, 20], ['a', 6, 4]]), 20, (s) =>
      pipe(s, window(session(10)), aggregate({ n: count, total: cappedSum })),
    )
    expect(values(r).map((x) => [x.window.start, x.window.end, x.value])).toEqual([
      [0, 10, { n: 1, total: 1 }],
      [12, 22, { n: 1, total: 20 }],
    ])
    expect(r.dead.map((d) => [d.stage, d.pos, d.message])).toEqual([['aggregate', 2, 'too big to merge']])
  })

  // dsl/aggregations.ts: an `add` that throws sends the event to dead letters and the event counts nowhere.
  it('an add that throws on a bridging event leaves both sessions as they were, with a merge that updates in place', async () => {
    const ids: MergeableAggregator<Ev, number[], number[]> = {
      init: () => [],
      // Refuses events with v = 13, changing nothing (a new array otherwise).
      add: (acc, e) => {
        if (e.v === 13) throw new Error('no 13')
        return [...acc, e.id]
      },
      merge: (x, y) => (x.push(...y), x),
      result: (acc) => [...acc],
    }
    // gap 10: [0,10) = {0}, [12,22) = {1}; id 2 at 6 (v 13) bridges them, and its add throws.
    const r = await runKeyed(evs([['a', 0, 1], ['a', 12, 1], ['a', 6, 13]]), 100, (s) => pipe(s, window(session(10)), aggregate(ids)))
    expect(r.dead.map((d) => [d.pos, d.message])).toEqual([[2, 'no 13']])
    expect(values(r).map(summary)).toEqual([
      [0, 10, [0]],
      [12, 22, [1]],
    ])
  })
})

// docs/semantics.md: a session is kept until W >= end + L; an event with no open session to join is late
// when t + gap + L <= W. d = 0, so each event sets W to its own time.
describe('session windows at the boundaries', () => {
  const run = (log: Ev[]) => runKeyed(log, 0, (s) => pipe(s, window(session(10), { allowedLateness: 5 }), aggregate(count)))

  it('at W == end + L the session [0, 10) is freed: an event at 0 cannot merge into it and is late (0 + gap + L == W)', async () => {
    const r = await run(evs([['a', 0], ['b', 15], ['a', 0]]))
    expect(r.late.map((l) => [l.time, l.watermark, l.windows])).toEqual([[0, 15, [{ start: 0, end: 10 }]]])
    expect(values(r).filter((x) => x.key === 'a').map(summary)).toEqual([[0, 10, 1]])
  })

  it('at W == end + L - 1 the session [0, 10) is still open: an event at 1 merges into it', async () => {
    const r = await run(evs([['a', 0], ['b', 14], ['a', 1]]))
    expect(r.late).toEqual([])
    expect(values(r).filter((x) => x.key === 'a').map(summary)).toEqual([
      [0, 10, 1],
      [0, 11, 2],
    ])
  })

  it('an event that starts a session with t + gap + L == W + 1 is on time', async () => {
    const r = await run(evs([['b', 14], ['a', 0]]))
    expect(r.late).toEqual([])
    expect(values(r).filter((x) => x.key === 'a').map(summary)).toEqual([[0, 10, 1]])
  })

  it('an out-of-order event exactly gap before a session does not merge with it (times must differ by < gap)', async () => {
    const r = await runKeyed(evs([['a', 20], ['a', 10]]), 100, (s) => pipe(s, window(session(10)), aggregate(count)))
    expect(values(r).map(summary)).toEqual([
      [10, 20, 1],
      [20, 30, 1],
    ])
  })
})
