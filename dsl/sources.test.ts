import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { pipeline } from './pipeline.ts'
import { source } from './sources.ts'
import { filter, keyBy, map, merge } from './stages.ts'
import { windowJoin } from './joins.ts'
import { boundedOutOfOrder, idleTimeout } from './watermarks.ts'
import { explain } from './explain.ts'
import { replay } from '../harness/replay.ts'
import { replayPartitioned } from '../harness/partitioned.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'

const Click = t.type({ user: t.string, at: t.number })
type Click = t.TypeOf<typeof Click>
const Search = t.type({ user: t.string, at: t.number, query: t.string })
type Search = t.TypeOf<typeof Search>

const clicksAndSearches = (searchWatermark: Parameters<typeof source>[0]['watermark'] = undefined) =>
  pipeline(
    {
      name: 'matched',
      sources: {
        clicks: source({ codec: Click, eventTime: (c) => c.at }),
        searches: source({ codec: Search, eventTime: (s) => s.at, watermark: searchWatermark }),
      },
    },
    ({ clicks, searches }) =>
      pipe(
        clicks,
        keyBy((c) => c.user),
        windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 500, type: 'left' }),
        map((j) => ({ click: j.left.at, query: j.right?.query })),
      ),
  )

describe('named sources', () => {
  it('give the build function one stream per source, typed by name', () => {
    pipeline({ sources: { clicks: source({ codec: Click }), searches: source({ codec: Search }) } }, ({ clicks, searches }) => {
      // @ts-expect-error a click has no query
      pipe(clicks, map((c) => c.query))
      // @ts-expect-error a stage for searches does not take clicks
      pipe(clicks, map((s: Search) => s.query))
      return pipe(clicks, map((c) => c.user), merge(pipe(searches, map((s) => s.query))))
    })
    // @ts-expect-error there is no source named clickz
    pipeline({ sources: { clicks: source({ codec: Click }) } }, ({ clickz }) => clickz)
  })

  it('refuse an empty set of sources, or one that is not a source(...)', () => {
    expect(() => pipeline({ sources: {} }, () => undefined as never)).toThrow(/sources is empty/)
    expect(() => pipeline({ sources: { a: { codec: Click } as never } }, ({ a }) => a)).toThrow(/source 'a' is not a source/)
  })

  it('run co-partitioned in partitioned replay, with the output of one replay (see harness/partitioned.test.ts)', async () => {
    const log = [
      { arrival: 0, topic: 'searches', event: { user: 'u', at: 0, query: 'q0' } },
      { arrival: 1, topic: 'clicks', event: { user: 'v', at: 50 } },
      { arrival: 2, topic: 'clicks', event: { user: 'u', at: 100 } },
    ]
    const r = await replayPartitioned(clicksAndSearches(), log, { partitions: 2, groups: [{ name: 'g', members: ['a', 'b'] }], key: (e) => (e as Click).user })
    const byClick = (out: readonly { click: number }[]) => [...out].sort((x, y) => x.click - y.click)
    expect(byClick(r.g.out)).toEqual(byClick((await replay(clicksAndSearches(), log)).out))
  })

  it('explain shows each source with its codec and watermarks', () => {
    const text = explain(clicksAndSearches([boundedOutOfOrder('1s'), idleTimeout('5s')]))
    expect(text).toMatch(/source clicks \(codec .*\), watermarks: boundedOutOfOrder 0ms/)
    expect(text).toMatch(/source searches \(codec .*\), watermarks: boundedOutOfOrder 1s, idleTimeout 5s/)
  })

  it('route a log by topic; a record of a topic no source reads (or of the default topic) is skipped and counted', async () => {
    const { out, deadLetters, metrics } = await replay(clicksAndSearches(), [
      { arrival: 0, topic: 'searches', event: { user: 'u', at: 0, query: 'q0' } },
      { arrival: 1, topic: 'views', event: { user: 'u', at: 1 } },
      { arrival: 2, topic: 'clicks', event: { user: 'u', at: 100 } },
      { arrival: 3, topic: 'clicks', event: { user: 'u', at: 'late' } },
      { arrival: 4, event: { user: 'u', at: 4 } },
    ])
    expect(out).toEqual([{ click: 100, query: 'q0' }])
    // The line with no topic is of the default topic (as in any log), which no source here reads.
    expect(deadLetters.map((d) => [d.reason, d.stage, d.pos])).toEqual([['codec', 'source clicks', 4]])
    expect(metrics.skipped).toBe(2)
  })

  it('show each source\'s own watermark in the state replay inspects', async () => {
    const { states } = await replay(clicksAndSearches(), slowSearches.slice(0, 4), { inspect: [3] })
    const sources = states![0].stages.filter((s) => s.state.kind === 'source').map((s) => [s.stage, s.state])
    expect(sources).toEqual([
      ['source clicks', { kind: 'source', watermark: 1000, maxEventTime: 1000 }],
      ['source searches', { kind: 'source', watermark: -5000, maxEventTime: -5000 }],
    ])
    // The pipeline's watermark, for the stages reading both: the slower source's.
    expect(states![0].source).toEqual({ watermark: -5000, maxEventTime: 1000 })
  })

  // Searches arrive 5s after they happen, clicks at once: a single watermark for both would make
  // every search late; each source's own watermark holds the join back instead.
  const slowSearches = Array.from({ length: 11 }, (_, i) => [
    { arrival: i * 1000, topic: 'clicks', event: { user: 'u', at: i * 1000 } },
    { arrival: i * 1000 + 1, topic: 'searches', event: { user: 'u', at: i * 1000 - 5000, query: `q${i - 5}` } },
  ]).flat()

  it('hold a join back for a slow source instead of making its events late', async () => {
    const { out, late } = await replay(clicksAndSearches(), slowSearches)
    expect(late).toEqual([])
    expect(out).toEqual(Array.from({ length: 11 }, (_, i) => ({ click: i * 1000, query: i <= 5 ? `q${i}` : undefined })))
  })

  it('(one source with one watermark for both makes the slow topic late, as before)', async () => {
    type Ev = Click | Search
    const shared = pipeline({ eventTime: (e: Ev) => e.at }, (s) =>
      pipe(
        s,
        filter((e): e is Click => !('query' in e)),
        keyBy((c) => c.user),
        windowJoin(pipe(s, filter((e): e is Search => 'query' in e), keyBy((e) => e.user)), { within: 500, type: 'left' }),
      ),
    )
    const { late } = await replay(shared, slowSearches)
    expect(late.length).toBeGreaterThan(0)
  })

  // Searches stop after the first: with an idle timeout, their watermark moves on with the clock and
  // unmatched clicks come out as time passes; without one, they wait for the end of the input.
  const quietSearches = [
    { arrival: 0, topic: 'searches', event: { user: 'u', at: 0, query: 'q' } },
    ...Array.from({ length: 20 }, (_, i) => ({ arrival: (i + 1) * 1000, topic: 'clicks', event: { user: 'u', at: (i + 1) * 1000 } })),
  ]
  const emittedAt = async (strategy: Parameters<typeof source>[0]['watermark']) => {
    const clock = new VirtualClock(0)
    const times: number[] = []
    const { out } = await replay(clicksAndSearches(strategy), quietSearches, { clock, onOutput: () => times.push(clock.now()) })
    expect(out).toHaveLength(20)
    return times
  }

  it('stop holding the others back once idle for idleTimeout', async () => {
    const held = await emittedAt(undefined)
    expect(held.every((at) => at === 20_000)).toBe(true)
    const idle = await emittedAt([boundedOutOfOrder(0), idleTimeout('2s')])
    // The click at 1000 comes out once the searches' watermark passes 1500, a few seconds later.
    expect(idle[0]).toBeLessThan(5000)
    expect(idle.filter((at) => at < 20_000).length).toBeGreaterThan(10)
  })
})
