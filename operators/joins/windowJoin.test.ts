import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy } from '../../dsl/stages.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { windowJoin, type JoinType } from '../../dsl/joins.ts'
import { FailFastError, makeContext } from '../core/context.ts'
import { runPipeline } from '../testing/runPipeline.ts'
import { windowJoinMachine } from './windowJoin.ts'

type Ev = { side: 'click' | 'view'; user: string; t: number; id: number }
const ev = (side: Ev['side'], user: string, t: number, id: number): Ev => ({ side, user, t, id })

const joinPipeline = (type: JoinType, within = 10, bound = 5) =>
  pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(bound) }, (s) => {
    const clicks = pipe(s, filter((e) => e.side === 'click'), keyBy((e) => e.user))
    const views = pipe(s, filter((e) => e.side === 'view'), keyBy((e) => e.user))
    return pipe(clicks, windowJoin(views, { within, type }))
  })

const ids = (vs: readonly { left?: Ev; right?: Ev }[]) => vs.map((v) => [v.left?.id ?? null, v.right?.id ?? null])

describe('windowJoin', () => {
  const input = [ev('click', 'u', 0, 1), ev('view', 'u', 10, 2), ev('view', 'w', 6, 3), ev('view', 'u', 11, 4), ev('click', 'u', 40, 5)]

  it('inner: pairs with equal key and |dt| <= within, the interval closed at both ends', async () => {
    const r = await runPipeline(joinPipeline('inner'), input)
    expect(ids(r.values)).toEqual([[1, 2]])
  })

  it('left: an unmatched left side is emitted once the watermark passes its time + within', async () => {
    const r = await runPipeline(joinPipeline('left'), input)
    expect(ids(r.values)).toEqual([
      [1, 2],
      [5, null],
    ])
  })

  it('outer: unmatched sides of both inputs, each once', async () => {
    const r = await runPipeline(joinPipeline('outer'), input)
    expect(ids(r.values)).toEqual([
      [1, 2],
      [null, 3],
      [null, 4],
      [5, null],
    ])
  })

  it('emits a pair with the later time, and holds the output watermark back by within so no result is late', async () => {
    const r = await runPipeline(joinPipeline('outer'), input)
    let w = Number.NEGATIVE_INFINITY
    for (const e of r.elements) {
      if (e._tag === 'Watermark') w = e.time
      else expect(e.time).toBeGreaterThanOrEqual(w)
    }
    const pair = r.elements.find((e) => e._tag === 'Data')!
    expect(pair).toMatchObject({ time: 10, key: 'u' })
  })

  it('sends an event older than the watermark to late, and joins nothing with it', async () => {
    const r = await runPipeline(joinPipeline('outer', 10, 0), [ev('click', 'u', 100, 1), ev('view', 'u', 95, 2)])
    expect(r.late.map((l) => [l.pos, l.stage, l.watermark])).toEqual([[1, 'windowJoin', 100]])
    expect(ids(r.values)).toEqual([[1, null]])
  })

  it('with failFast, a late event fails the run with its FailFastError, from either input', async () => {
    for (const late of [ev('view', 'u', 95, 2), ev('click', 'u', 95, 2)]) {
      const run = runPipeline(joinPipeline('outer', 10, 0), [ev('click', 'u', 100, 1), late], { failFast: true })
      await expect(run).rejects.toBeInstanceOf(FailFastError)
      await expect(run).rejects.toThrow(/windowJoin: late event at position 1/)
    }
  })

  it('frees state behind the watermark: only events within the interval stay buffered', () => {
    const m = windowJoinMachine({ within: 10, type: 'inner' }, makeContext(), () => {})
    for (let t = 0; t < 1000; t++) {
      m.left({ _tag: 'Data', value: t, time: t, key: t % 7, pos: t })
      m.watermark(t)
    }
    const s = m.snapshot!() as { entries: unknown[] }
    expect(s.entries.length).toBe(11)
  })

  it('snapshot mid-stream, restore into a fresh machine and continue: same output as uninterrupted', () => {
    const events = Array.from({ length: 60 }, (_, i) => ({ side: i % 3 === 0 ? 1 : 0, key: i % 4, t: i * 3 - (i % 5) }))
    const run = (cut: number | undefined) => {
      const out: unknown[] = []
      const mk = () => windowJoinMachine({ within: 6, type: 'outer' }, makeContext(), (d) => out.push([d.value, d.time]))
      let m = mk()
      events.forEach((e, pos) => {
        if (pos === cut) {
          const s = JSON.parse(JSON.stringify(m.snapshot!()))
          m = mk()
          m.restore!(s)
        }
        const d = { _tag: 'Data' as const, value: pos, time: e.t, key: e.key, pos }
        if (e.side === 0) m.left(d)
        else m.right(d)
        if (pos % 4 === 3) m.watermark(e.t - 5)
      })
      m.watermark(Number.POSITIVE_INFINITY)
      return out
    }
    expect(run(30)).toEqual(run(undefined))
  })

  it('rejects a bad configuration at definition time', () => {
    const views = pipe(pipeline({}, (s) => s).output, keyBy((e: unknown) => String(e)))
    expect(() => windowJoin(views, { within: '-1s' as '1s' })).toThrow(/windowJoin/)
    expect(() => windowJoin(views, { within: 5, type: 'full' as 'outer' })).toThrow(/windowJoin: type must be/)
  })
})

// The interval ends, exactly: with a bound of 0 every event sets W to its own time.
describe('windowJoin boundaries', () => {
  it('an event at time == W is on time (late means time < W), and pairs', async () => {
    const r = await runPipeline(joinPipeline('outer', 10, 0), [ev('click', 'u', 100, 1), ev('view', 'u', 100, 2)])
    expect(r.late).toEqual([])
    expect(ids(r.values)).toEqual([[1, 2]])
  })

  it('an event at time == W - 1 is late', async () => {
    const r = await runPipeline(joinPipeline('outer', 10, 0), [ev('click', 'u', 100, 1), ev('view', 'u', 99, 2)])
    expect(r.late.map((l) => [l.pos, l.watermark])).toEqual([[1, 100]])
  })

  it('an event at W - within is still buffered: an on-time event at W, exactly within away, pairs with it', async () => {
    // W = 100 after the second click; the click at 90 is kept (evicted only when time < W - within).
    const r = await runPipeline(joinPipeline('inner', 10, 0), [ev('click', 'u', 90, 1), ev('click', 'u', 100, 2), ev('view', 'u', 100, 3)])
    expect(ids(r.values)).toEqual([
      [1, 3],
      [2, 3],
    ])
  })

  it('|dt| == within + 1 does not pair, in either direction', async () => {
    const r = await runPipeline(joinPipeline('outer', 10, 100), [ev('click', 'u', 50, 1), ev('view', 'u', 61, 2), ev('view', 'u', 39, 3)])
    expect(ids(r.values)).toEqual([
      [null, 3],
      [1, null],
      [null, 2],
    ])
  })
})
