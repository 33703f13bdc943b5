import { describe, expect, it } from 'vitest'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import {
  aggregate,
  asyncMap,
  boundedOutOfOrder,
  count,
  filter,
  idleTimeout,
  keyBy,
  map,
  microbatch,
  pipeline,
  source,
  windowJoin,
  tumbling,
  window,
  FailFastError,
  type Stream,
} from 'weirjs'
import { testPipeline } from 'weirjs/testing'

interface Click {
  readonly user: string
  readonly ts: number
}
const Click = t.type({ user: t.string, ts: t.number })

const perMinute = pipeline({ name: 'perMinute', codec: Click, eventTime: (c) => c.ts, watermark: boundedOutOfOrder(10_000) }, (s) =>
  pipe(
    s,
    keyBy((c) => c.user),
    window(tumbling('1m')),
    aggregate(count),
    map((r) => ({ user: r.key, start: r.window.start, clicks: r.value })),
  ),
)

describe('testPipeline', () => {
  it('fires a window once the watermark passes its end, and only then', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 }).send({ user: 'ann', ts: 30_000 })
    expect(d.takeOutput()).toEqual([])
    expect(d.watermark).toBe(20_000)
    d.send({ user: 'bob', ts: 69_999 })
    expect(d.takeOutput()).toEqual([])
    d.send({ user: 'bob', ts: 70_000 })
    expect(d.takeOutput()).toEqual([{ user: 'ann', start: 0, clicks: 2 }])
    d.end()
    expect(d.takeOutput()).toEqual([{ user: 'bob', start: 60_000, clicks: 2 }])
    expect(d.watermark).toBe(Number.POSITIVE_INFINITY)
  })

  it('advanceWatermarkTo fires windows without an event and makes older events late', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 })
    d.advanceWatermarkTo(60_000)
    expect(d.watermark).toBe(60_000)
    expect(d.emitted.peek().map((e) => e.value)).toEqual([{ user: 'ann', start: 0, clicks: 1 }])
    expect(d.emitted.size).toBe(1)
    d.send({ user: 'ann', ts: 59_000 })
    expect(d.late.take().map((l) => [l.value, l.pos])).toEqual([[{ user: 'ann', ts: 59_000 }, 2]])
    expect(d.late.take()).toEqual([])
    // A lower watermark does nothing.
    d.advanceWatermarkTo(5)
    expect(d.watermark).toBe(60_000)
    expect(d.takeOutput()).toEqual([{ user: 'ann', start: 0, clicks: 1 }])
  })

  it('turns events the codec refuses into dead letters at their position, and goes on', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 }).send({ user: 42 } as unknown as Click).send({ user: 'ann', ts: 2_000 })
    const [dead] = d.deadLetters.take()
    expect(dead).toMatchObject({ reason: 'codec', pos: 2 })
    d.end()
    expect(d.takeOutput()).toEqual([{ user: 'ann', start: 0, clicks: 2 }])
  })

  it('records when each output came out: event time, key, position and processing time', () => {
    const d = testPipeline(perMinute, { start: 500 })
    d.send({ user: 'ann', ts: 1_000 }, { at: 1_000 }).advanceWatermarkTo(60_000)
    expect(d.emitted.take()).toEqual([{ value: { user: 'ann', start: 0, clicks: 1 }, time: 59_999, key: undefined, pos: 1, at: 1_000 }])
  })

  it('moves processing time: an idle timeout raises the watermark when input goes quiet', () => {
    const idle = pipeline({ eventTime: (c: Click) => c.ts, watermark: [boundedOutOfOrder(0), idleTimeout('5s')] }, (s) =>
      pipe(s, keyBy((c) => c.user), window(tumbling('1m')), aggregate(count)),
    )
    const d = testPipeline(idle)
    d.send({ user: 'ann', ts: 1_000 }, { at: 1_000 })
    d.advanceTimeTo(60_000)
    expect(d.takeOutput()).toEqual([])
    d.advanceTimeTo(61_000)
    expect(d.takeOutput()).toEqual([{ key: 'ann', window: { start: 0, end: 60_000 }, value: 1 }])
  })

  it('fires microbatches on the virtual clock', () => {
    const batched = pipeline({}, (s: Stream<number>) => pipe(s, microbatch(3, '1s')))
    const d = testPipeline(batched)
    d.sendAll([1, 2])
    expect(d.takeOutput()).toEqual([])
    d.advanceTimeBy(999)
    expect(d.takeOutput()).toEqual([])
    d.advanceTimeBy(1)
    expect(d.takeOutput()).toEqual([[1, 2]])
    d.sendAll([3, 4, 5])
    expect(d.takeOutput()).toEqual([[3, 4, 5]])
  })

  it('waits for async stages with settle(), and refuses a step while they hold events', async () => {
    const slow = pipeline({}, (s: Stream<number>) => pipe(s, asyncMap(async (x: number) => x * 10, { concurrency: 2 })))
    const d = testPipeline(slow)
    d.send(1)
    expect(() => d.send(2)).toThrow(/await driver.settle\(\) first/)
    await d.settle()
    expect(d.takeOutput()).toEqual([10])
    d.send(2)
    await d.settle()
    d.end()
    await d.settle()
    expect(d.takeOutput()).toEqual([20])
  })

  it('skips events of other topics when given a topic, as replay does', () => {
    const d = testPipeline(pipeline({}, (s: Stream<number>) => pipe(s, filter((x: number) => x > 0))), { topic: 'numbers' })
    d.send(1, { topic: 'numbers' }).send(2, { topic: 'other' }).send(3)
    expect(d.takeOutput()).toEqual([1])
    expect(d.timeline.filter((e) => e.kind === 'skip')).toHaveLength(2)
  })

  it('throws a fail-fast dead letter out of the step that caused it', () => {
    const d = testPipeline(perMinute, { failFast: true })
    expect(() => d.send({ nope: true } as unknown as Click)).toThrow(FailFastError)
  })

  it('shows what stateful stages hold', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 })
    expect(JSON.stringify(d.state())).toContain('ann')
  })

  describe('edge cases', () => {
    it('takes no step after end()', () => {
      const d = testPipeline(perMinute).end()
      expect(() => d.send({ user: 'ann', ts: 1 })).toThrow(/after end\(\)/)
    })

    it('never moves the clock backwards', () => {
      const d = testPipeline(perMinute, { start: 100 })
      d.send({ user: 'ann', ts: 1 }, { at: 50 })
      expect(d.now).toBe(100)
    })

    it('sends what a user stage throws on to dead letters, and goes on', () => {
      const d = testPipeline(pipeline({}, (s: Stream<number>) => pipe(s, map((x: number) => {
        if (x === 2) throw new Error('boom')
        return x
      }))))
      d.sendAll([1, 2, 3])
      expect(d.takeOutput()).toEqual([1, 3])
      expect(d.deadLetters.take()).toMatchObject([{ reason: 'user', pos: 2, message: 'boom' }])
    })

    it('rethrows what failed the pipeline (fail-fast in an async stage) from settle()', async () => {
      const d = testPipeline(pipeline({}, (s: Stream<number>) => pipe(s, asyncMap(async (x: number) => {
        if (x === 2) throw new Error('service down')
        return x
      }))), { failFast: true })
      d.send(1)
      await d.settle()
      d.send(2)
      await expect(d.settle()).rejects.toThrow(FailFastError)
      expect(() => d.send(3)).toThrow(FailFastError)
    })
  })
})

describe('testPipeline with several sources', () => {
  it('sends each event to the source its topic names, each with its own watermark', () => {
    const p = pipeline(
      {
        sources: {
          clicks: source({ eventTime: (c: { user: string; at: number }) => c.at }),
          searches: source({ eventTime: (s: { user: string; at: number; q: string }) => s.at }),
        },
      },
      ({ clicks, searches }) => pipe(clicks, keyBy((c) => c.user), windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 10, type: 'left' })),
    )
    const d = testPipeline(p)
    d.send({ user: 'u', at: 100 }, { topic: 'clicks' }).send({ user: 'u', at: 500 }, { topic: 'clicks' })
    // The searches' watermark has not moved: the click at 100 still waits for a search.
    expect(d.emitted.take()).toEqual([])
    d.send({ user: 'u', at: 105, q: 'q' }, { topic: 'searches' })
    expect(d.emitted.take().map((e) => e.value)).toEqual([{ left: { user: 'u', at: 100 }, right: { user: 'u', at: 105, q: 'q' } }])
    // A topic no source reads is skipped; an event sent with no topic cannot be routed.
    d.send({ user: 'u', at: 1 }, { topic: 'views' }).send({ user: 'u', at: 1 })
    expect(d.deadLetters.take().map((x) => [x.reason, x.pos])).toEqual([['topic', 4]])
    d.end()
    expect(d.emitted.take().map((e) => e.value)).toEqual([{ left: { user: 'u', at: 500 }, right: undefined }])
  })

  describe('advanceWatermarkTo', () => {
    type Click = { user: string; at: number }
    type Search = { user: string; at: number; q: string }
    const clicksAfterSearches = pipeline(
      { sources: { clicks: source({ eventTime: (c: Click) => c.at }), searches: source({ eventTime: (s: Search) => s.at }) } },
      ({ clicks, searches }) =>
        pipe(
          clicks,
          keyBy((c) => c.user),
          windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 10, type: 'left' }),
          map((j) => `${j.left.at}:${j.right?.q ?? '-'}`),
        ),
    )

    it("with { topic }, raises that source's watermark alone: the join waits for the other", () => {
      const d = testPipeline(clicksAfterSearches)
      d.send({ user: 'u', at: 100 }, { topic: 'clicks' })
      d.advanceWatermarkTo(200, { topic: 'clicks' })
      // The searches' watermark holds the join back: a search may still come for the click.
      expect(d.takeOutput()).toEqual([])
      d.send({ user: 'u', at: 105, q: 'q' }, { topic: 'searches' })
      expect(d.takeOutput()).toEqual(['100:q'])
      d.send({ user: 'u', at: 300 }, { topic: 'clicks' }).advanceWatermarkTo(400, { topic: 'searches' })
      // The join's watermark: the minimum of the clicks' (300, from the click) and the searches'
      // (400), less its interval.
      expect(d.takeOutput()).toEqual([])
      expect(d.watermark).toBe(290)
      // Once the clicks' watermark follows, the click at 300 is known to have no search.
      d.advanceWatermarkTo(400, { topic: 'clicks' })
      expect(d.takeOutput()).toEqual(['300:-'])
      expect(d.watermark).toBe(390)
    })

    it('without a topic, raises every source: the join moves as with one source', () => {
      const d = testPipeline(clicksAfterSearches)
      d.send({ user: 'u', at: 100 }, { topic: 'clicks' }).advanceWatermarkTo(200)
      expect(d.takeOutput()).toEqual(['100:-'])
      expect(d.watermark).toBe(190)
      d.send({ user: 'u', at: 150 }, { topic: 'clicks' }).send({ user: 'u', at: 150, q: 'q' }, { topic: 'searches' })
      expect(d.late.take().map((l) => l.pos)).toEqual([2, 3])
    })

    it('refuses a topic that names no source', () => {
      const d = testPipeline(clicksAfterSearches)
      // @ts-expect-error clickz is no source of the pipeline
      expect(() => d.advanceWatermarkTo(1, { topic: 'clickz' })).toThrow("testPipeline: advanceWatermarkTo: topic 'clickz' names no source of this pipeline (its sources: clicks, searches)")
      const one = testPipeline(pipeline({}, (s: Stream<number>) => s), { topic: 'numbers' })
      expect(() => one.advanceWatermarkTo(1, { topic: 'letters' })).toThrow("testPipeline: advanceWatermarkTo: this pipeline reads one source (topic 'numbers'), not 'letters'")
      expect(() => one.advanceWatermarkTo(1, { topic: 'numbers' })).not.toThrow()
    })
  })
})
