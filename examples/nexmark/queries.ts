/**
 * The Nexmark queries Q0, Q1, Q2, Q3, Q5, Q7, Q8 and Q11 as weir pipelines over the one stream of
 * `NexmarkEvent`s, following Apache Beam's Nexmark query classes (docs/nexmark.md lists where weir's
 * results differ from Beam's). Each takes the window sizes of Beam's `NexmarkConfiguration`.
 *
 * Run it: `npx tsx --conditions=weir-source examples/nexmark/queries.ts [events]`
 */
import { fileURLToPath } from 'node:url'
import {
  aggregate,
  aggregator,
  boundedOutOfOrder,
  count,
  filter,
  flatMap,
  hopping,
  keyBy,
  map,
  pipe,
  pipeline,
  run,
  session,
  tableTableJoin,
  tumbling,
  upsert,
  window,
  windowJoin,
  type Change,
  type Pipeline,
} from 'weirjs'
import { NexmarkGenerator } from './generator.ts'
import { isAuction, isBid, isPerson, NexmarkEvent, type Auction, type Bid, type Person } from './model.ts'

export interface QueryConfig {
  /** Tumbling window size (Q7, Q8), sliding window size (Q5) and session gap (Q11), in seconds. */
  readonly windowSizeSec: number
  /** Q5's window period (its hop), in seconds. */
  readonly windowPeriodSec: number
  /** Q2 keeps bids on auctions whose id is a multiple of this. */
  readonly auctionSkip: number
}

/** Beam's `NexmarkConfiguration` defaults. */
export const defaultQueryConfig: QueryConfig = { windowSizeSec: 10, windowPeriodSec: 5, auctionSkip: 123 }

/** Generated events are in event-time order; the one source validates each with the union's codec. */
const source = (name: string) => ({ name, codec: NexmarkEvent, eventTime: (e: NexmarkEvent) => e.dateTime, watermark: boundedOutOfOrder(0) })

/** Q0, pass-through: every event, unchanged. What reading the stream costs, the other queries' baseline. */
export const q0 = () => pipeline(source('nexmark-q0'), (s) => s)

/** Q1, currency conversion: each bid with its price in euros, `floor(price * 89 / 100)` as Beam computes it. */
export const q1 = () =>
  pipeline(source('nexmark-q1'), (s) =>
    pipe(
      s,
      filter(isBid),
      map((b): Bid => ({ kind: 'bid', auction: b.auction, bidder: b.bidder, price: Math.floor((b.price * 89) / 100), dateTime: b.dateTime })),
    ),
  )

export interface AuctionPrice {
  readonly auction: number
  readonly price: number
}

/** Q2, selection: `{ auction, price }` of each bid on an auction whose id is a multiple of `auctionSkip`. */
export const q2 = ({ auctionSkip }: QueryConfig = defaultQueryConfig) =>
  pipeline(source('nexmark-q2'), (s) =>
    pipe(
      s,
      filter((e): e is Bid => isBid(e) && e.auction % auctionSkip === 0),
      map((b): AuctionPrice => ({ auction: b.auction, price: b.price })),
    ),
  )

export interface NameCityStateId {
  readonly name: string
  readonly city: string
  readonly state: string
  readonly id: number
}

const Q3_STATES = new Set(['OR', 'ID', 'CA'])

/**
 * Q3, local item suggestion: `{ name, city, state, id }` for each auction of category 10 whose
 * seller lives in Oregon, Idaho or California. An incremental join: the auctions and the persons
 * are two tables (changelogs) filtered from the one stream, joined by `tableTableJoin` on the
 * auction's `seller`, so an auction met before its seller (the generator may name a seller not yet
 * registered) is matched when the seller arrives. Persons and auctions are never updated, so each
 * match is one upsert of the joined view.
 */
export const q3 = () =>
  pipeline(source('nexmark-q3'), (s) => {
    const auctions = pipe(
      s,
      filter((e): e is Auction => isAuction(e) && e.category === 10),
      map((a): Change<number, Auction> => upsert(a.id, a)),
    )
    const sellers = pipe(
      s,
      filter((e): e is Person => isPerson(e) && Q3_STATES.has(e.state)),
      map((p): Change<number, Person> => upsert(p.id, p)),
    )
    return pipe(
      auctions,
      tableTableJoin(sellers, { type: 'inner', foreignKey: (a: Auction) => a.seller }),
      flatMap((c): NameCityStateId[] => {
        const row = c.op === 'upsert' ? c.after : undefined
        return row?.right === undefined ? [] : [{ name: row.right.name, city: row.right.city, state: row.right.state, id: row.left.id }]
      }),
    )
  })

export interface AuctionCount {
  readonly auction: number
  readonly count: number
  /** The window, `[start, end)` ms; not in Beam's `AuctionCount`, which leaves it to the pane. */
  readonly start: number
  readonly end: number
}

interface TopCounts {
  count: number
  auctions: number[]
}

/** The auctions with the highest count (Beam's `TopCombineFn`). */
const topCounts = aggregator({
  init: (): TopCounts => ({ count: 0, auctions: [] }),
  add: (acc: TopCounts, r: { readonly key: number; readonly value: number }) => {
    if (r.value > acc.count) {
      acc.count = r.value
      acc.auctions = [r.key]
    } else if (r.value === acc.count) acc.auctions.push(r.key)
    return acc
  },
  merge: (x: TopCounts, y: TopCounts): TopCounts =>
    x.count > y.count ? x : y.count > x.count ? y : { count: x.count, auctions: [...x.auctions, ...y.auctions] },
  result: (acc: TopCounts) => acc,
})

/**
 * Q5, hot items: for each sliding window of `windowSizeSec` every `windowPeriodSec` (a hopping
 * window), the auction(s) with the most bids in it. Bids are counted per auction and window; each
 * window's counts carry the time `end - 1`, so a second, tumbling window of one period gathers
 * exactly the counts of one sliding window, and keeps the highest.
 */
export const q5 = ({ windowSizeSec, windowPeriodSec }: QueryConfig = defaultQueryConfig) =>
  pipeline(source('nexmark-q5'), (s) =>
    pipe(
      s,
      filter(isBid),
      keyBy((b) => b.auction),
      window(hopping(windowSizeSec * 1000, windowPeriodSec * 1000)),
      aggregate(count),
      keyBy(() => 0),
      window(tumbling(windowPeriodSec * 1000)),
      aggregate(topCounts),
      flatMap((r): AuctionCount[] => {
        const end = r.window.end
        return r.value.auctions.map((auction) => ({ auction, count: r.value.count, start: end - windowSizeSec * 1000, end }))
      }),
    ),
  )

interface HighestBids {
  price: number
  bids: Bid[]
}

/** The bids with the highest price. */
const highestBids = aggregator({
  init: (): HighestBids => ({ price: -Infinity, bids: [] }),
  add: (acc: HighestBids, b: Bid) => {
    if (b.price > acc.price) {
      acc.price = b.price
      acc.bids = [b]
    } else if (b.price === acc.price) acc.bids.push(b)
    return acc
  },
  result: (acc: HighestBids) => acc.bids,
})

/** Q7, highest bid: the bid(s) with the highest price in each tumbling window of `windowSizeSec`. */
export const q7 = ({ windowSizeSec }: QueryConfig = defaultQueryConfig) =>
  pipeline(source('nexmark-q7'), (s) =>
    pipe(
      s,
      filter(isBid),
      keyBy(() => 0),
      window(tumbling(windowSizeSec * 1000)),
      aggregate(highestBids),
      flatMap((r) => r.value),
    ),
  )

export interface IdNameReserve {
  readonly id: number
  readonly name: string
  readonly reserve: number
}

/**
 * Q8's join key: a person id and the number of its tumbling window, one number (a Map keyed by
 * numbers, no string per event). Only the window number modulo 1,024 is kept: two events whose
 * windows differ by a multiple of 1,024 are at least 1,023 windows apart, too far for the join to
 * pair them, so the key is as exact as the pair.
 */
const personWindow = (person: number, time: number, size: number): number => person * 1024 + (Math.floor(time / size) % 1024)

/**
 * Q8, monitor new users: `{ id, name, reserve }` for each person and each auction they opened in the
 * same tumbling window of `windowSizeSec`. Both sides are keyed by person and window, so a
 * `windowJoin` within one window's length pairs exactly the person-auction pairs of one window.
 */
export const q8 = ({ windowSizeSec }: QueryConfig = defaultQueryConfig) =>
  pipeline(source('nexmark-q8'), (s) => {
    const size = windowSizeSec * 1000
    const persons = pipe(
      s,
      filter(isPerson),
      keyBy((p) => personWindow(p.id, p.dateTime, size)),
    )
    const auctions = pipe(
      s,
      filter(isAuction),
      keyBy((a) => personWindow(a.seller, a.dateTime, size)),
    )
    return pipe(
      persons,
      windowJoin(auctions, { within: size - 1, type: 'inner' }),
      map(({ left: p, right: a }): IdNameReserve => ({ id: p.id, name: p.name, reserve: a.reserve })),
    )
  })

export interface BidsPerSession {
  readonly bidder: number
  readonly bids: number
  readonly start: number
  readonly end: number
}

/** Q11, user sessions: bids per bidder per session, a session ending after `windowSizeSec` without a bid. */
export const q11 = ({ windowSizeSec }: QueryConfig = defaultQueryConfig) =>
  pipeline(source('nexmark-q11'), (s) =>
    pipe(
      s,
      filter(isBid),
      keyBy((b) => b.bidder),
      window(session(windowSizeSec * 1000)),
      aggregate(count),
      map((r): BidsPerSession => ({ bidder: r.key, bids: r.value, start: r.window.start, end: r.window.end })),
    ),
  )

/**
 * Every query, by its Nexmark name.
 *
 * @example
 * const { out } = await run(queries.q5(), [...new NexmarkGenerator().generate(100_000)])
 */
export const queries = { q0, q1, q2, q3, q5, q7, q8, q11 } as const

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 100_000)
  const events = [...new NexmarkGenerator().generate(n)]
  for (const [name, q] of Object.entries(queries) as [string, () => Pipeline<NexmarkEvent, unknown, unknown>][]) {
    const t0 = performance.now()
    const { out, late, deadLetters } = await run(q(), events)
    const ms = performance.now() - t0
    console.log(`${name.padEnd(4)} ${String(out.length).padStart(8)} results  ${late.length} late  ${deadLetters.length} dead letters  ${Math.round(n / (ms / 1000)).toLocaleString('en-US')} events/s`)
  }
}
