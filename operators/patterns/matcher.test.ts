import { describe, expect, it } from 'vitest'
import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile, compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy } from '../../dsl/stages.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { match, pattern, type Match, type MatchOptions, type NegatedPattern, type Pattern, type Timeout } from '../../dsl/patterns.ts'
import type { Data, Element } from '../../dsl/element.ts'
import type { DeadLetter, Late } from '../../dsl/sides.ts'
import { makeContext } from '../core/context.ts'
import { PatternMatcher } from './matcher.ts'

interface Ev {
  readonly k: string
  readonly t: number
  readonly c: string
  readonly v?: number
}

/** Events of one key from a string: letter i at time `i * step`. */
const evs = (s: string, step = 1, k = 'k'): Ev[] => s.split('').map((c, i) => ({ k, t: i * step, c }))
const is = (c: string) => (e: Ev) => e.c === c

type Out = Match<Ev, string, string> | Timeout<Ev, string, string>

/** A match as `step=times;...`, a timeout prefixed with `T:`. */
const show = (o: Out): string =>
  (o._tag === 'Timeout' ? 'T:' : '') +
  Object.entries(o.events)
    .filter(([, es]) => es.length > 0)
    .map(([n, es]) => `${n}=${es.map((e) => e.t).join(',')}`)
    .join(' ')

async function run(
  p: Pattern<Ev, string> | NegatedPattern<Ev, string>,
  input: readonly Ev[],
  options: MatchOptions = {},
  delay = 0,
): Promise<{ out: Out[]; late: Late[]; dead: DeadLetter[] }> {
  const late: Late[] = []
  const dead: DeadLetter[] = []
  const pl = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(delay) }, (s) =>
    pipe(
      s,
      keyBy((e) => e.k),
      // Options come as data here, so `within` is not known to the types: the matcher checks it.
      match(p as Pattern<Ev, string, string, true> | NegatedPattern<Ev, string, string, true>, options as MatchOptions & { timeouts: true }),
    ),
  )
  const out = (await lastValueFrom(
    from(input).pipe(compile(pl, { onLate: (l) => late.push(l), onDeadLetter: (d) => dead.push(d) }), toArray()),
  )) as Out[]
  return { out, late, dead }
}
const shows = async (...args: Parameters<typeof run>) => (await run(...args)).out.map(show)

describe('match: contiguity', () => {
  const ab = (how: 'next' | 'followedBy') => pattern<Ev>().begin('a', is('a'))[how]('b', is('b'))

  it('next needs the step right after the previous event', async () => {
    expect(await shows(ab('next'), evs('abaxb'))).toEqual(['a=0 b=1'])
  })

  it('followedBy skips events that do not satisfy it', async () => {
    expect(await shows(ab('followedBy'), evs('axxb'))).toEqual(['a=0 b=3'])
  })

  it('followedBy takes the first later event that satisfies it (skip till next match), not any', async () => {
    expect(await shows(ab('followedBy'), evs('abb'), { skip: 'noSkip' })).toEqual(['a=0 b=1'])
  })

  it('the repetitions of a next step are strict by default, of a followedBy step relaxed', async () => {
    const strict = pattern<Ev>().begin('a', is('a')).next('b', is('b')).times(2)
    const relaxed = pattern<Ev>().begin('a', is('a')).followedBy('b', is('b')).times(2)
    expect(await shows(strict, evs('abxb'))).toEqual([])
    expect(await shows(strict, evs('abbx'))).toEqual(['a=0 b=1,2'])
    expect(await shows(relaxed, evs('abxb'))).toEqual(['a=0 b=1,3'])
    const relaxedNext = pattern<Ev>().begin('a', is('a')).next('b', is('b')).times(2, { contiguity: 'relaxed' })
    expect(await shows(relaxedNext, evs('abxb'))).toEqual(['a=0 b=1,3'])
  })

  it('a notFollowedBy between steps forbids matching events in the gap', async () => {
    const p = pattern<Ev>().begin('a', is('a')).notFollowedBy('no-x', is('x')).followedBy('b', is('b'))
    expect(await shows(p, evs('ayb'))).toEqual(['a=0 b=2'])
    expect(await shows(p, evs('axb'))).toEqual([])
    // the run starting at the second `a` has no `x` in its gap
    expect(await shows(p, evs('axab'))).toEqual(['a=2 b=3'])
  })
})

describe('match: quantifiers', () => {
  it('oneOrMore gives a match per count with noSkip; skipPastLastEvent keeps the one taking the earliest events', async () => {
    const p = pattern<Ev>().begin('a', is('a')).followedBy('b', is('b')).oneOrMore().followedBy('c', is('c'))
    expect(await shows(p, evs('abbc'), { skip: 'noSkip' })).toEqual(['a=0 b=1,2 c=3', 'a=0 b=1 c=3'])
    expect(await shows(p, evs('abbc'))).toEqual(['a=0 b=1,2 c=3'])
  })

  it('a trailing oneOrMore reports each extension with noSkip and only its first event with skipPastLastEvent', async () => {
    const p = pattern<Ev>().begin('a', is('a')).next('b', is('b')).oneOrMore()
    expect(await shows(p, evs('abbb'), { skip: 'noSkip' })).toEqual(['a=0 b=1', 'a=0 b=1,2', 'a=0 b=1,2,3'])
    expect(await shows(p, evs('abbb'))).toEqual(['a=0 b=1'])
  })

  it('times(n).oneOrMore() means n or more', async () => {
    const p = pattern<Ev>().begin('b', is('b')).times(2).oneOrMore().next('c', is('c'))
    expect(await shows(p, evs('bc bbc bbbc'.replace(/ /g, 'x')), { skip: 'noSkip' })).toEqual(['b=3,4 c=5', 'b=7,8,9 c=10', 'b=8,9 c=10'])
  })

  it('an optional step may be skipped: its array is empty', async () => {
    const p = pattern<Ev>().begin('a', is('a')).next('b', is('b')).optional().next('c', is('c'))
    const { out } = await run(p, evs('acxabc'))
    expect(out.map(show)).toEqual(['a=0 c=1', 'a=3 b=4 c=5'])
    expect(out[0].events.b).toEqual([])
  })

  it('an optional begin lets the match start at the next step', async () => {
    const p = pattern<Ev>().begin('a', is('a')).optional().next('b', is('b'))
    expect(await shows(p, evs('bab'), { skip: 'noSkip' })).toEqual(['b=0', 'a=1 b=2', 'b=2'])
  })
})

describe('match: skip strategies', () => {
  const aa = pattern<Ev>().begin('x', is('a')).next('y', is('a'))
  it('noSkip emits overlapping matches; skipPastLastEvent does not', async () => {
    expect(await shows(aa, evs('aaa'), { skip: 'noSkip' })).toEqual(['x=0 y=1', 'x=1 y=2'])
    expect(await shows(aa, evs('aaaa'))).toEqual(['x=0 y=1', 'x=2 y=3'])
  })

  it('skipPastLastEvent emits in completion order: a later start that completes first wins', async () => {
    // a(0) waits for c; a(2) b(3) completes at 3 and drops the partial match started at 0.
    const p = pattern<Ev>()
      .begin('a', is('a'))
      .followedBy('m', (e) => e.c === 'c' || e.c === 'b')
      .followedBy('z', (e, m) => (m.m[0].c === 'c' ? e.c === 'z' : e.c === 'b'))
    expect(await shows(p, evs('acabbz'))).toEqual(['a=2 m=3 z=4'])
  })
})

describe('match: within', () => {
  const ab = pattern<Ev>().begin('a', is('a')).followedBy('b', is('b'))
  it('is inclusive: last.time - first.time <= d', async () => {
    expect(await shows(ab.within(10), evs('ab', 10))).toEqual(['a=0 b=10'])
    expect(await shows(ab.within(10), evs('ab', 11))).toEqual([])
    expect(await shows(ab.within(10), evs('ab', 11), {}, 100)).toEqual([])
  })

  it('reports partial matches it expired as timeouts, stamped with their deadline, when asked', async () => {
    const { out } = await run(ab.within(5), evs('axxxxxxb'), { timeouts: true })
    expect(out).toEqual([{ _tag: 'Timeout', key: 'k', start: 0, deadline: 5, events: { a: [evs('a')[0]], b: [] } }])
  })

  it('emits a timeout at end of input for partial matches still waiting', async () => {
    expect(await shows(ab.within('1h'), evs('ax'), { timeouts: true })).toEqual(['T:a=0'])
  })
})

describe('match: notFollowedBy at the tail', () => {
  const p = pattern<Ev>().begin('a', is('a')).notFollowedBy('no-x', is('x'))

  it('completes when the watermark passes start + within, stamped with that time', async () => {
    const pl = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(0) }, (s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        match(p.within(3)),
      ),
    )
    const recs: Data<unknown>[] = evs('ayyyyy').map((value, i) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos: i }))
    const out = await lastValueFrom(from(recs).pipe(compileElements(pl, makeContext()), toArray()))
    const tags = out.map((e: Element<unknown>) => (e._tag === 'Watermark' ? `w${e.time}` : `m${e.time}`))
    // the match is out as soon as W = 4 > 0 + 3, before that watermark and before end of input
    expect(tags).toEqual(['w0', 'w1', 'w2', 'w3', 'm3', 'w4', 'w5', 'wInfinity'])
  })

  it('is killed by a negated event within the bound, not after it', async () => {
    expect(await shows(p.within(3), evs('ayyx'))).toEqual([])
    expect(await shows(p.within(3), evs('ayyyx'))).toEqual(['a=0'])
  })

  it('without within, resolves at end of input', async () => {
    expect(await shows(p, evs('ayyyyyy'))).toEqual(['a=0'])
    expect(await shows(p, evs('ayyyyyx'))).toEqual([])
  })

  it('also guards optional steps that a match skipped', async () => {
    const q = pattern<Ev>().begin('a', is('a')).notFollowedBy('no-x', is('x')).followedBy('b', is('b')).optional().within(4)
    expect(await shows(q, evs('ayyyy'), { skip: 'noSkip' })).toEqual(['a=0'])
    expect(await shows(q, evs('ayxb'), { skip: 'noSkip' })).toEqual([])
    expect(await shows(q, evs('abyx'), { skip: 'noSkip' })).toEqual(['a=0 b=1'])
  })
})

describe('match: events', () => {
  it('predicates see the events taken by earlier steps, by name', async () => {
    interface Txn {
      readonly card: string
      readonly at: number
      readonly amount: number
    }
    const smallThenBig = pattern<Txn>()
      .begin('small', (t) => t.amount < 10)
      .next('big', (t, m) => t.amount > 100 * m.small[0].amount)
      .within('10m')
    const txns: Txn[] = [
      { card: 'A', at: 0, amount: 1 },
      { card: 'B', at: 1, amount: 2 },
      { card: 'A', at: 2, amount: 500 },
      { card: 'B', at: 3, amount: 150 },
    ]
    const pl = pipeline({ eventTime: (t: Txn) => t.at }, (s) =>
      pipe(
        s,
        keyBy((t) => t.card),
        match(smallThenBig),
      ),
    )
    const out = await lastValueFrom(from(txns).pipe(compile(pl), toArray()))
    expect(out).toEqual([{ _tag: 'Match', key: 'A', start: 0, end: 2, events: { small: [txns[0]], big: [txns[2]] } }])
  })

  it('matches per key, in event-time order, whatever the arrival order within the bound', async () => {
    const p = pattern<Ev>().begin('a', is('a')).next('b', is('b'))
    const input = [...evs('ab', 1, 'p'), ...evs('xab', 1, 'q')]
    const shuffled = [input[1], input[4], input[0], input[3], input[2]]
    const sorted = (await shows(p, input, {}, 5)).sort()
    expect(sorted).toEqual(['a=0 b=1', 'a=1 b=2'])
    expect((await shows(p, shuffled, {}, 5)).sort()).toEqual(sorted)
  })

  it('sends events behind the watermark to late, and a throwing predicate to dead letters once per event', async () => {
    const p = pattern<Ev>()
      .begin('a', (e) => {
        if (e.c === '!') throw new Error('bad')
        return e.c === 'a'
      })
      .followedBy('b', is('b'))
    const input: Ev[] = [
      { k: 'k', t: 10, c: 'a' },
      { k: 'k', t: 11, c: '!' },
      { k: 'k', t: 2, c: 'b' },
      { k: 'k', t: 12, c: 'b' },
    ]
    const { out, late, dead } = await run(p, input)
    expect(out.map(show)).toEqual(['a=10 b=12'])
    expect(late.map((l) => [l.pos, l.stage])).toEqual([[2, 'match']])
    expect(dead.map((d) => [d.reason, d.stage, d.pos, d.message])).toEqual([['user', 'match', 1, "predicate 'a': bad"]])
  })
})

describe('PatternMatcher state', () => {
  const ev = (i: number, keys: number): Data<Ev, string> => ({ _tag: 'Data', value: { k: `k${i % keys}`, t: i, c: i % 7 === 0 ? 'a' : 'x' }, time: i, key: `k${i % keys}`, pos: i })

  it('stays bounded on 1M events with no matches: partial matches older than within are pruned', () => {
    const p = pattern<Ev>().begin('a', is('a')).followedBy('b', is('b')).followedBy('c', is('c')).within(500)
    const out: unknown[] = []
    const m = new PatternMatcher({ pattern: p.spec, skip: 'skipPastLastEvent', timeouts: false }, makeContext(), (d) => out.push(d))
    let maxRuns = 0
    let maxBuffered = 0
    let maxDeadlines = 0
    for (let i = 0; i < 1_000_000; i++) {
      m.data(ev(i, 1000))
      if (i % 100 === 99) {
        m.watermark(i - 50)
        const s = m.stateSize()
        maxRuns = Math.max(maxRuns, s.runs)
        maxBuffered = Math.max(maxBuffered, s.buffered)
        maxDeadlines = Math.max(maxDeadlines, s.deadlines)
      }
    }
    m.watermark(Number.POSITIVE_INFINITY)
    expect(out).toEqual([])
    // a run starts at every 7th event and lives `within` (500) of event time: ~72 at most, plus
    // the 150 events between two watermarks
    expect(maxRuns).toBeGreaterThan(50)
    expect(maxRuns).toBeLessThanOrEqual(Math.ceil(651 / 7) + 1)
    expect(maxBuffered).toBeLessThanOrEqual(150)
    expect(maxDeadlines).toBeLessThanOrEqual(1000)
    expect(m.stateSize()).toEqual({ buffered: 0, keys: 0, runs: 0, deadlines: 0 })
  })

  it('restored from a snapshot taken mid-stream, ends with the same output as an uninterrupted run', () => {
    const p = pattern<Ev>()
      .begin('a', is('a'))
      .followedBy('b', is('b'))
      .oneOrMore()
      .notFollowedBy('no-c', is('c'))
      .within(6)
    const spec = { pattern: p.spec, skip: 'noSkip' as const, timeouts: true }
    const letters = 'abxbacbbaxbbcab'
    const input: Data<Ev, string>[] = letters.split('').map((c, i) => {
      const k = `k${i % 2}`
      return { _tag: 'Data', value: { k, t: i, c }, time: i, key: k, pos: i }
    })
    const feed = (m: PatternMatcher, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        m.data(input[i])
        if (i % 3 === 2) m.watermark(i - 1)
      }
    }
    const whole: unknown[] = []
    const a = new PatternMatcher(spec, makeContext(), (d) => whole.push(d))
    feed(a, 0, input.length)
    a.watermark(Number.POSITIVE_INFINITY)
    expect(whole.length).toBeGreaterThan(3)

    for (const cut of [4, 8, 11]) {
      const first: unknown[] = []
      const b = new PatternMatcher(spec, makeContext(), (d) => first.push(d))
      feed(b, 0, cut)
      const snap = JSON.parse(JSON.stringify(b.snapshot()))
      const c = new PatternMatcher(spec, makeContext(), (d) => first.push(d))
      c.restore(snap)
      feed(c, cut, input.length)
      c.watermark(Number.POSITIVE_INFINITY)
      expect(first).toEqual(whole)
    }
  })
})
