import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from './pipeline.ts'
import { filter, keyBy, map } from './stages.ts'
import { aggregate, session, tumbling, window } from './windows.ts'
import { aggregator, count, fromMonoid, mean, sum } from './aggregations.ts'
import { match, pattern } from './patterns.ts'
import { windowJoin } from './joins.ts'
import { dedupe } from './dedupe.ts'
import { asyncMap } from './flow.ts'
import { planChange, stateShapes } from './fingerprint.ts'
import type { Stream } from './stream.ts'

interface Ev {
  readonly k: string
  readonly t: number
  readonly n: number
}
const mine = aggregator({ init: () => 0, add: (a: number, e: Ev) => a + e.n, merge: (a: number, b: number) => a + b, result: (a: number) => a })
const MonoidMax = { concat: (x: number, y: number) => Math.max(x, y), empty: -Infinity }

describe('stateShapes', () => {
  it('lists each stateful stage with its step number and what its state depends on, skipping stateless ones', () => {
    const p = pipeline({ name: 'p' }, (s: Stream<Ev>) => {
      const keyed = pipe(s, filter((e) => e.n > 0), keyBy((e) => e.k), dedupe((e: Ev) => e.t, '1m'))
      const other = pipe(s, keyBy((e) => e.k))
      return pipe(keyed, windowJoin(other, { within: '5s', type: 'left' }), asyncMap(async (j) => j))
    })
    expect(stateShapes(p).map((s) => s.shape)).toEqual(['dedupe(1m)', 'windowJoin(left, within 5s)'])
  })

  it('a window: assigner, lateness, emission and each aggregation by kind', () => {
    const p = pipeline({ name: 'p' }, (s: Stream<Ev>) =>
      pipe(
        s,
        keyBy((e) => e.k),
        window(session('10s'), { allowedLateness: '1m', emit: 'updates' }),
        aggregate({ n: count, s: sum((e: Ev) => e.n), m: mean((e: Ev) => e.n), u: mine, x: fromMonoid(MonoidMax, (e: Ev) => e.n) }),
      ),
    )
    expect(stateShapes(p)).toEqual([
      { step: 3, shape: 'window session gap 10s lateness 1m (updates) → aggregate { n: count, s: sum, m: mean, u: aggregator, x: monoid }' },
    ])
  })

  it('a pattern: each step with its link, count, optionality and contiguity, within, skip and timeouts', () => {
    const pt = pattern<Ev>()
      .begin('a', (e) => e.n > 0)
      .next('b', (e) => e.n > 1)
      .times(2)
      .oneOrMore({ contiguity: 'relaxed' })
      .notFollowedBy('c', (e) => e.n < 0)
      .followedBy('d', (e) => e.n === 0)
      .optional()
      .within('1m')
    const p = pipeline({ name: 'p' }, (s: Stream<Ev>) => pipe(s, keyBy((e) => e.k), match(pt, { skip: 'noSkip', timeouts: true })))
    expect(stateShapes(p).map((s) => s.shape)).toEqual(['match(begin a, next b{2,∞} relaxed, notFollowedBy c, followedBy d? within 1m; noSkip, timeouts)'])
  })
})

describe('planChange', () => {
  const shapes = (...xs: string[]) => xs.map((shape, i) => ({ step: i + 2, shape }))
  it('names the first stage whose shape differs, or one added or gone; nothing when equal', () => {
    expect(planChange(['a', 'b'], shapes('a', 'b'))).toBeUndefined()
    expect(planChange(['a', 'b'], shapes('a', 'c'))).toBe('stage 3 b is now c')
    expect(planChange(['a'], shapes('a', 'c'))).toBe('stage 3 c is new')
    expect(planChange(['a', 'b'], shapes('a'))).toBe('its stateful stage b is not in this plan')
  })

  it('a stateless stage added before a window renumbers it but changes nothing', () => {
    const before = pipeline({ name: 'p' }, (s: Stream<Ev>) => pipe(s, keyBy((e) => e.k), window(tumbling(5)), aggregate(count)))
    const after = pipeline({ name: 'p' }, (s: Stream<Ev>) => pipe(s, map((e) => e), filter(() => true), keyBy((e) => e.k), window(tumbling(5)), aggregate(count)))
    expect(planChange(stateShapes(before).map((s) => s.shape), stateShapes(after))).toBeUndefined()
  })
})
