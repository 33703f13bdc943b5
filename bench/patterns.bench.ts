import { from } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../dsl/compile.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { keyBy, merge } from '../dsl/stages.ts'
import type { Data } from '../dsl/element.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { makeContext } from '../operators/core/context.ts'
import { PatternMatcher } from '../operators/patterns/matcher.ts'
import { QueryIndex, type Query } from '../operators/patterns/queryIndex.ts'
import { MinHeap } from '../operators/core/MinHeap.ts'
import { best, pairedRatios, timeBest, timeInProcesses, type Report } from './util.ts'

interface Txn {
  readonly card: number
  readonly at: number
  readonly amount: number
}

const EVENTS = 1_000_000
/** The standing patterns' run is shorter: each event goes through every pattern. */
const STANDING_EVENTS = 20_000
const KEYS = 10_000

/** A deterministic generator (mulberry32), so every run measures the same data. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** 1M transactions over 10k cards, 50 ms apart (each card every ~8 minutes), slightly out of order. */
function transactions(n = EVENTS): Txn[] {
  const r = rng(7)
  return Array.from({ length: n }, (_, i) => ({ card: Math.floor(r() * KEYS), at: i * 50 + Math.floor(r() * 2000), amount: Math.floor(r() * 100) }))
}

/** The first `n` transactions, made once per process (a contender's timed run does not make its input). */
let made: Txn[] = []
const firstTransactions = (n: number): Txn[] => {
  if (made.length < n) made = transactions(Math.max(n, EVENTS))
  return n === made.length ? made : made.slice(0, n)
}

const WITHIN = 30 * 60_000
const DISORDER = 2000

/** The thresholds of an escalation pattern: a probe below one amount, then a test, then a hit, each this much larger. */
interface Escalation {
  readonly probeBelow: number
  readonly testAbove: number
  readonly hitAbove: number
}

/** Small, then larger, then larger still, within 30 minutes: a classic card-testing pattern. */
const escalationOf = (e: Escalation) =>
  pattern<Txn>()
    .begin('probe', (t) => t.amount < e.probeBelow)
    .followedBy('test', (t, m) => t.amount > m.probe[0].amount + e.testAbove)
    .followedBy('hit', (t, m) => t.amount > m.test[0].amount + e.hitAbove)
    .within('30m')

const ESCALATION: Escalation = { probeBelow: 10, testAbove: 40, hitAbove: 20 }
const escalation = escalationOf(ESCALATION)

/** 100 standing escalation patterns with different thresholds, over the same stream. */
const STANDING: readonly Escalation[] = Array.from({ length: 100 }, (_, i) => ({
  probeBelow: 5 + (i % 10),
  testAbove: 30 + 2 * Math.floor(i / 10),
  hitAbove: 15 + (i % 7),
}))

/** What one run found: the number of matches and a checksum of their keys and times. */
interface Found {
  matches: number
  sum: number
}

const found = (): Found => ({ matches: 0, sum: 0 })
const count = (f: Found, key: number, start: number, end: number): void => {
  f.matches++
  f.sum = (f.sum + key * 31 + start * 7 + end) % 1_000_000_007
}

/** The patterns' `match` stages over one keyed stream, merged. */
const patternsPipeline = (specs: readonly Escalation[]) =>
  pipeline({ eventTime: (t: Txn) => t.at, watermark: boundedOutOfOrder(DISORDER) }, (s) => {
    const cards = pipe(
      s,
      keyBy((t) => t.card),
    )
    const [first, ...rest] = specs.map((e) => pipe(cards, match(escalationOf(e))))
    return rest.length === 0 ? first : pipe(first, merge(...rest))
  })

/** The compiled pipeline of `specs` over the first `n` transactions. */
function runPatterns(n: number, specs: readonly Escalation[]): Found {
  const f = found()
  from(firstTransactions(n))
    .pipe(compile(patternsPipeline(specs)))
    .subscribe((m) => count(f, m.key, m.start, m.end))
  return f
}

/** One card's partial matches of one pattern, in the hand automaton: parallel arrays, in order of their first event. */
interface CardRuns {
  /** 1: waiting for `test` (after `probe`); 2: waiting for `hit`. */
  readonly step: number[]
  readonly probe: number[]
  readonly test: number[]
  readonly start: number[]
}

/** Runs transaction `t` through a card's partial matches of pattern `e` (see `runHand`). */
function advance(c: CardRuns, t: Txn, e: Escalation, f: Found): void {
  const n = c.step.length
  if (n === 0 && t.amount >= e.probeBelow) return
  let hit = -1
  let w = 0
  for (let i = 0; i < n; i++) {
    if (c.start[i] + WITHIN < t.at) continue
    if (c.step[i] === 1 && t.amount > c.probe[i] + e.testAbove) {
      c.step[i] = 2
      c.test[i] = t.amount
    } else if (c.step[i] === 2 && hit < 0 && t.amount > c.test[i] + e.hitAbove) hit = w
    c.step[w] = c.step[i]
    c.probe[w] = c.probe[i]
    c.test[w] = c.test[i]
    c.start[w] = c.start[i]
    w++
  }
  if (hit >= 0) {
    // The first complete partial match started first: it is the match; skipPastLastEvent drops the rest.
    count(f, t.card, c.start[hit], t.at)
    w = 0
  } else if (t.amount < e.probeBelow) {
    c.step[w] = 1
    c.probe[w] = t.amount
    c.test[w] = 0
    c.start[w] = t.at
    w++
  }
  if (w < n) c.step.length = c.probe.length = c.test.length = c.start.length = w
}

/**
 * The baseline: escalation patterns as a hand-written per-card automaton with the pipeline's
 * semantics (events reordered by time through a heap released at max seen - 2 s, as the watermark
 * does; relaxed contiguity, each partial match advancing on the first event that fits; a partial
 * match older than 30 minutes dropped; after a match, the card's partial matches of that pattern
 * dropped). No RxJS, no generic NFA, no matches built, one reorder buffer for all patterns.
 */
function runHand(n: number, specs: readonly Escalation[]): Found {
  const txns = firstTransactions(n)
  const f = found()
  const cards = new Map<number, CardRuns[]>()
  const buffer = new MinHeap<Txn>()
  const step = (t: Txn): void => {
    let c = cards.get(t.card)
    if (c === undefined) cards.set(t.card, (c = specs.map(() => ({ step: [], probe: [], test: [], start: [] }))))
    for (let p = 0; p < specs.length; p++) advance(c[p], t, specs[p], f)
  }
  let maxSeen = Number.NEGATIVE_INFINITY
  for (let i = 0; i < txns.length; i++) {
    const t = txns[i]
    buffer.push(t.at, i, t)
    if (t.at > maxSeen) {
      maxSeen = t.at
      while (buffer.peek() < maxSeen - DISORDER) step(buffer.pop())
    }
  }
  while (buffer.size > 0) step(buffer.pop())
  return f
}

async function nfa(r: Report): Promise<void> {
  r.section(`match: 3-step pattern, ${EVENTS / 1e6}M events, ${KEYS.toLocaleString('en-US')} keys`)
  const weir = runPatterns(EVENTS, [ESCALATION])
  const hand = runHand(EVENTS, [ESCALATION])
  if (weir.matches !== hand.matches || weir.sum !== hand.sum)
    throw new Error(`bench: the hand automaton found ${hand.matches} matches (checksum ${hand.sum}), the pipeline ${weir.matches} (${weir.sum})`)
  // Each in a fresh process, in turns, timed in CPU seconds (see timeInProcesses).
  const t = timeInProcesses('patterns.bench.ts', ['pattern', 'hand'] as const, EVENTS, 5, 'cpu')
  r.figure('compiled pipeline (keyBy + match), events per CPU second', EVENTS / (best(t.pattern) / 1000), 'ev/s')
  r.figure('  matches found (the same as the hand automaton)', weir.matches, '')
  r.figure('baseline: hand-written per-card automaton, events per CPU second', EVENTS / (best(t.hand) / 1000), 'ev/s')
  r.ratios('compiled pipeline time / hand automaton time', pairedRatios(t.pattern, t.hand), 'at most 3x')

  // The matcher alone, fed records and a watermark every 100 events: the operator's own cost.
  const txns = firstTransactions(EVENTS)
  const records: Data<Txn, number>[] = txns.map((value, pos) => ({ _tag: 'Data', value, time: value.at, key: value.card, pos }))
  let emitted = 0
  const bare = await timeBest(() => {
    emitted = 0
    const m = new PatternMatcher({ pattern: escalation.spec, skip: 'skipPastLastEvent', timeouts: false }, makeContext(), () => emitted++)
    let maxSeen = 0
    for (let i = 0; i < records.length; i++) {
      m.data(records[i] as Data<unknown, number>)
      if (records[i].time > maxSeen) maxSeen = records[i].time
      if (i % 100 === 99) m.watermark(maxSeen - DISORDER)
    }
    m.watermark(Number.POSITIVE_INFINITY)
  }, 2)
  r.figure('PatternMatcher alone, events/s (wall)', EVENTS / (bare / 1000), 'ev/s')
  if (emitted !== weir.matches) throw new Error(`bench: matcher alone found ${emitted} matches, the pipeline ${weir.matches}`)

  r.section(`match: ${STANDING.length} standing 3-step patterns over one stream, ${STANDING_EVENTS.toLocaleString('en-US')} events`)
  const many = runPatterns(STANDING_EVENTS, STANDING)
  const manyHand = runHand(STANDING_EVENTS, STANDING)
  if (many.matches !== manyHand.matches || many.sum !== manyHand.sum)
    throw new Error(`bench: the hand automaton found ${manyHand.matches} matches (checksum ${manyHand.sum}), the pipeline ${many.matches} (${many.sum})`)
  const st = timeInProcesses('patterns.bench.ts', ['standing', 'standingHand'] as const, STANDING_EVENTS, 3, 'cpu')
  r.figure(`compiled pipeline (${STANDING.length} match stages, merged), events per CPU second`, STANDING_EVENTS / (best(st.standing) / 1000), 'ev/s')
  r.figure('  matches found (the same as the hand automaton)', many.matches, '')
  r.figure(`baseline: hand automaton running all ${STANDING.length} patterns, events per CPU second`, STANDING_EVENTS / (best(st.standingHand) / 1000), 'ev/s')
  r.ratios(`${STANDING.length} patterns, compiled pipeline / hand automaton`, pairedRatios(st.standing, st.standingHand))
  // Each match stage is a matcher of its own (its own reorder buffer and per-key state), fed every event.
  const perPatternEvent = (best(st.standing) * 1000) / (STANDING_EVENTS * STANDING.length)
  r.figure('  per pattern and event', perPatternEvent, 'µs')
  r.figure('  one pattern alone (above), per event', (best(t.pattern) * 1000) / EVENTS, 'µs')
}

/** What `timeInProcesses` runs, each in a process of its own, on `n` events. */
export const contenders: Record<string, (n: number) => unknown> = {
  pattern: (n) => runPatterns(n, [ESCALATION]),
  hand: (n) => runHand(n, [ESCALATION]),
  standing: (n) => runPatterns(n, STANDING),
  standingHand: (n) => runHand(n, STANDING),
}

interface Order {
  readonly symbol: string
  readonly side: string
  readonly venue: string
  readonly qty: number
}

const QUERIES = 10_000
const SYMBOLS = 2_000

/** 10k standing queries: a symbol, often a side or a venue, sometimes a quantity predicate. */
function standingQueries(): Query<Order>[] {
  const r = rng(11)
  return Array.from({ length: QUERIES }, (): Query<Order> => {
    const where: { symbol: string; side?: string; venue?: string } = { symbol: `S${Math.floor(r() * SYMBOLS)}` }
    if (r() < 0.5) where.side = r() < 0.5 ? 'buy' : 'sell'
    if (r() < 0.3) where.venue = `V${Math.floor(r() * 10)}`
    const min = Math.floor(r() * 1000)
    return r() < 0.3 ? { where, predicate: (o) => o.qty >= min } : { where }
  })
}

function orders(n: number): Order[] {
  const r = rng(13)
  return Array.from({ length: n }, () => ({
    symbol: `S${Math.floor(r() * SYMBOLS)}`,
    side: r() < 0.5 ? 'buy' : 'sell',
    venue: `V${Math.floor(r() * 10)}`,
    qty: Math.floor(r() * 1000),
  }))
}

/** The baseline: every query checked for every event, conditions precompiled to arrays. */
function linearScan(queries: readonly Query<Order>[]) {
  const compiled = queries.map((q, id) => {
    const where = (q.where ?? {}) as Record<string, unknown>
    return { id, fields: Object.keys(where), values: Object.values(where), predicate: q.predicate }
  })
  return (e: Order): number[] => {
    const out: number[] = []
    const rec = e as unknown as Record<string, unknown>
    for (let i = 0; i < compiled.length; i++) {
      const q = compiled[i]
      let ok = true
      for (let f = 0; f < q.fields.length && ok; f++) ok = rec[q.fields[f]] === q.values[f]
      if (ok && (q.predicate === undefined || q.predicate(e))) out.push(q.id)
    }
    return out
  }
}

async function queryIndex(r: Report): Promise<void> {
  r.section(`standing queries: ${QUERIES.toLocaleString('en-US')} equality queries`)
  const queries = standingQueries()
  const idx = new QueryIndex<Order>()
  queries.forEach((q, id) => idx.add(id, q))
  const scan = linearScan(queries)
  const many = orders(1_000_000)
  const few = many.slice(0, 5_000)

  for (const e of few.slice(0, 500)) {
    const a = idx.match(e).sort((x, y) => Number(x) - Number(y))
    const b = scan(e)
    if (a.join() !== b.join()) throw new Error('bench: index and linear scan disagree')
  }
  let hits = 0
  const indexed = await timeBest(() => {
    hits = 0
    for (let i = 0; i < many.length; i++) hits += idx.match(many[i]).length
  })
  const linear = await timeBest(() => {
    for (let i = 0; i < few.length; i++) scan(few[i])
  })
  const indexedRate = many.length / (indexed / 1000)
  const linearRate = few.length / (linear / 1000)
  r.figure('QueryIndex.match, events/s', indexedRate, 'ev/s')
  r.figure('  hits per event', hits / many.length, '')
  r.figure('linear scan over all queries, events/s', linearRate, 'ev/s')
  r.ratio('index speed-up over the linear scan', indexedRate, linearRate, '>= 100x')

  const churn = await timeBest(() => {
    for (let i = 0; i < queries.length; i++) {
      idx.remove(i)
      idx.add(i, queries[i])
    }
  })
  r.figure('remove + add one query, ops/s', queries.length / (churn / 1000), 'ops/s')
}

/** 1M events through a 3-step pattern; standing queries, indexed vs scanned. */
export default async function (r: Report): Promise<void> {
  await nfa(r)
  await queryIndex(r)
}
