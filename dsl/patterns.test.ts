import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { match, pattern, type Match, type Timeout } from './patterns.ts'
import { pipeline } from './pipeline.ts'
import { keyBy, map } from './stages.ts'
import type { Stream } from './stream.ts'

interface Txn {
  readonly card: string
  readonly amount: number
}

describe('pattern<T>() builder', () => {
  it('types predicates by the names of earlier steps and rejects unknown or reused names', () => {
    pattern<Txn>()
      .begin('small', (t) => t.amount < 10)
      // @ts-expect-error 'later' is not a step before 'big'
      .next('big', (t, m) => t.amount > m.later[0].amount)
    expect(() =>
      pattern<Txn>()
        .begin('small', (t) => t.amount < 10)
        // @ts-expect-error names must be unique
        .followedBy('small', (t) => t.amount > 1),
    ).toThrow(/'small' is already used/)
    const ok = pattern<Txn>()
      .begin('small', (t) => t.amount < 10)
      .followedBy('big', (t, m) => t.amount > m.small[0].amount && m.big.length < 3)
      .oneOrMore()
    expect(ok.spec.steps.map((s) => s.name)).toEqual(['small', 'big'])
  })

  it('offers no quantifier after notFollowedBy', () => {
    const p = pattern<Txn>()
      .begin('a', () => true)
      .notFollowedBy('no-b', () => false)
    // @ts-expect-error quantifiers apply to steps that take events
    expect(() => p.oneOrMore()).toThrow(/notFollowedBy/)
  })

  it('fails at definition time, naming the constructor', () => {
    const a = pattern<Txn>().begin('a', () => true)
    expect(() => a.times(0)).toThrow(/pattern.times: expected a whole number >= 1, got 0/)
    expect(() => a.times(2).times(3)).toThrow(/already has a count/)
    expect(() => a.oneOrMore().oneOrMore()).toThrow(/already unbounded/)
    expect(() => a.optional().optional()).toThrow(/already optional/)
    expect(() => a.within('-5m' as '5m')).toThrow(/pattern.within: expected a positive/)
    expect(() => a.within('1m').within('2m')).toThrow(/already has a within/)
    expect(() => (a as unknown as { next(n: string, p: unknown): unknown }).next('a', () => true)).toThrow(/'a' is already used/)
    expect(() => a.next('b', 42 as unknown as () => boolean)).toThrow(/needs a predicate/)
    // @ts-expect-error timeouts need a pattern with within: a compile error, and checked at run time too
    expect(() => match(a, { timeouts: true })).toThrow(/match: timeouts need a pattern with within/)
    expect(() => match(a, { skip: 'skipToNext' as 'noSkip' })).toThrow(/match: skip must be/)
  })

  it('records quantifiers and contiguity in the plain spec', () => {
    const p = pattern<Txn>()
      .begin('a', () => true)
      .times(2)
      .oneOrMore()
      .followedBy('b', () => true)
      .optional()
      .next('c', () => true)
      .times(3, { contiguity: 'relaxed' })
      .within('10m')
    expect(p.spec.within).toBe(600_000)
    expect(p.spec.steps.map((s) => (s._tag === 'Step' ? [s.name, s.contiguity, s.repeat, s.min, s.max, s.optional] : []))).toEqual([
      ['a', 'strict', 'strict', 2, Number.POSITIVE_INFINITY, false],
      ['b', 'relaxed', 'relaxed', 1, 1, true],
      ['c', 'strict', 'relaxed', 3, 3, false],
    ])
  })
})

describe('match stage typing', () => {
  const p = pattern<Txn>()
    .begin('small', (t) => t.amount < 10)
    .next('big', (t, m) => t.amount > m.small[0].amount)
    .within('10m')

  it('applies to keyed streams only and yields matches typed by step name', () => {
    const keyed = pipeline({}, (s: Stream<Txn>) =>
      pipe(
        s,
        keyBy((t) => t.card),
        match(p),
        map((m: Match<Txn, 'small' | 'big', string>) => m.events.big[0].amount - m.events.small[0].amount),
      ),
    )
    expect(keyed.output.node._tag).toBe('Map')
    // @ts-expect-error match needs a keyed stream
    pipeline({}, (s: Stream<Txn>) => pipe(s, match(p)))
    pipeline({}, (s: Stream<Txn>) =>
      pipe(
        s,
        keyBy((t) => t.card),
        match(p),
        // @ts-expect-error there is no step 'medium'
        map((m) => m.events.medium),
      ),
    )
  })

  it('adds Timeout to the output type only with timeouts: true', () => {
    pipeline({}, (s: Stream<Txn>) =>
      pipe(
        s,
        keyBy((t) => t.card),
        match(p, { timeouts: true }),
        map((o: Match<Txn, 'small' | 'big', string> | Timeout<Txn, 'small' | 'big', string>) =>
          o._tag === 'Timeout' ? o.deadline : o.end,
        ),
      ),
    )
    pipeline({}, (s: Stream<Txn>) =>
      pipe(
        s,
        keyBy((t) => t.card),
        match(p),
        // @ts-expect-error without timeouts every element is a Match
        map((o) => o.deadline),
      ),
    )
    expect(match(p, { timeouts: true })).toBeTypeOf('function')
  })
})

describe('step names after notFollowedBy', () => {
  it('a later step reusing a notFollowedBy name is a compile error, like any reused name (and throws at definition time)', () => {
    expect(() =>
      pattern<{ amount: number }>()
        .begin('small', (t) => t.amount < 10)
        .notFollowedBy('refund', (t) => t.amount < 0)
        // @ts-expect-error names must be unique ('refund' is taken by the notFollowedBy above)
        .next('refund', (t) => t.amount > 100),
    ).toThrow(/'refund' is already used/)
  })
})
