import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, keyBy, pipeline, tumbling, window, type Stream } from 'weirjs'
import { pipelineMatchers, testPipeline } from 'weirjs/testing'

declare module 'vitest' {
  interface Assertion<T> {
    toHaveEmitted(expected: readonly unknown[]): T
    toHaveLate(expected: readonly unknown[]): T
  }
}
expect.extend(pipelineMatchers)

interface Click {
  readonly user: string
  readonly ts: number
}
const perMinute = pipeline({ eventTime: (c: Click) => c.ts, watermark: boundedOutOfOrder(10_000) }, (s: Stream<Click>) =>
  pipe(s, keyBy((c) => c.user), window(tumbling('1m')), aggregate(count)),
)
const minute = (key: string, m: number, value: number) => ({ key, window: { start: m * 60_000, end: (m + 1) * 60_000 }, value })

describe('pipelineMatchers', () => {
  it('take what came out since the last take and compare it', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 })
    expect(d).toHaveEmitted([])
    d.advanceWatermarkTo(60_000)
    expect(d).toHaveEmitted([minute('ann', 0, 1)])
    d.send({ user: 'ann', ts: 2_000 })
    expect(d).toHaveLate([{ user: 'ann', ts: 2_000 }])
    expect(d).not.toHaveEmitted([minute('ann', 0, 2)])
  })

  it('print the timeline around the first difference when they fail', () => {
    const d = testPipeline(perMinute)
    d.send({ user: 'ann', ts: 1_000 }, { at: 5 }).send({ user: 'bob', ts: 75_000 }, { at: 7 })
    let message = ''
    try {
      expect(d).toHaveEmitted([minute('ann', 0, 2)])
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toBe(
      [
        'expected the pipeline to have emitted:',
        "  [ { key: 'ann', value: 2, window: { end: 60000, start: 0 } } ]",
        'but it emitted:',
        "  [ { key: 'ann', value: 1, window: { end: 60000, start: 0 } } ]",
        "first difference at #1: expected { key: 'ann', value: 2, window: { end: 60000, start: 0 } }, got { key: 'ann', value: 1, window: { end: 60000, start: 0 } }",
        'timeline:',
        '  t=5             clock moves',
        "  t=5             send #1 { ts: 1000, user: 'ann' }",
        '  t=5             watermark -9000',
        '  t=7             clock moves',
        "  t=7             send #2 { ts: 75000, user: 'bob' }",
        "> t=7             out { key: 'ann', value: 1, window: { end: 60000, start: 0 } } (from #1)",
        '  t=7             watermark 65000',
      ].join('\n'),
    )
  })

  it('refuse anything but a driver', () => {
    expect(() => expect([1]).toHaveEmitted([1])).toThrow(/expected a test driver/)
  })
})
