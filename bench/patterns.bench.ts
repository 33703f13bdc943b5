import { from, lastValueFrom, reduce } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../dsl/compile.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { keyBy } from '../dsl/stages.ts'
import type { Data } from '../dsl/element.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { makeContext } from '../operators/core/context.ts'
import { PatternMatcher } from '../operators/patterns/matcher.ts'
import { QueryIndex, type Query } from '../operators/patterns/queryIndex.ts'
import { timeBest, type Report } from './util.ts'

interface Txn {
  readonly card: number
  readonly at: number
  readonly amount: number
}

const EVENTS = 1_000_000
const KEYS = 10_000

/** A deterministic generator (mulberry32), so every run measures the same data. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** 1M transactions over 10k cards, 50 ms apart (each card every ~8 minutes), slightly out of order. */
function transactions(): Txn[] {
  const r = rng(7)
  return Array.from({ length: EVENTS }, (_, i) => ({ card: Math.floor(r() * KEYS), at: i * 50 + Math.floor(r() * 2000), amount: Math.floor(r() * 100) }))
}

/** Small, then larger, then larger still, within 30 minutes: a classic card-testing pattern. */
const escalation = pattern<Txn>()
  .begin('probe', (t) => t.amount < 10)
  .followedBy('test', (t, m) => t.amount > m.probe[0].amount + 40)
  .followedBy('hit', (t, m) => t.amount > m.test[0].amount + 20)
  .within('30m')

async function nfa(r: Report): Promise<void> {
  const txns = transactions()
  r.section(`match: 3-step pattern, ${EVENTS / 1e6}M events, ${KEYS.toLocaleString('en-US')} keys`)
  const p = pipeline({ eventTime: (t: Txn) => t.at, watermark: boundedOutOfOrder('2s') }, (s) =>
    pipe(
      s,
      keyBy((t) => t.card),
      match(escalation),
    ),
  )
  let matches = 0
  const compiled = await timeBest(async () => {
    matches = await lastValueFrom(from(txns).pipe(compile(p), reduce((n) => n + 1, 0)))
  }, 2)
  r.figure('compiled pipeline (keyBy + match), events/s', EVENTS / (compiled / 1000), 'ev/s')
  r.figure('  matches found', matches, '')

  // The matcher alone, fed records and a watermark every 100 events: the operator's own cost.
  const records: Data<Txn, number>[] = txns.map((value, pos) => ({ _tag: 'Data', value, time: value.at, key: value.card, pos }))
  let emitted = 0
  const bare = await timeBest(() => {
    emitted = 0
    const m = new PatternMatcher({ pattern: escalation.spec, skip: 'skipPastLastEvent', timeouts: false }, makeContext(), () => emitted++)
    let maxSeen = 0
    for (let i = 0; i < records.length; i++) {
      m.data(records[i] as Data<unknown, number>)
      if (records[i].time > maxSeen) maxSeen = records[i].time
      if (i % 100 === 99) m.watermark(maxSeen - 2000)
    }
    m.watermark(Number.POSITIVE_INFINITY)
  }, 2)
  r.figure('PatternMatcher alone, events/s', EVENTS / (bare / 1000), 'ev/s')
  r.ratio('compiled pipeline time / matcher alone', compiled, bare)
  if (emitted !== matches) throw new Error(`bench: matcher alone found ${emitted} matches, the pipeline ${matches}`)
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
