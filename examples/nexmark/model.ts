/**
 * The Nexmark data model (Tucker et al., "NEXMark – A Benchmark for Queries over Data Streams", as
 * Apache Beam's and Flink's Nexmark suites generate it): an online auction where people register,
 * open auctions and bid. All three kinds travel on one stream as the union `NexmarkEvent`, told
 * apart by `kind`, each with its event time in `dateTime` (ms since the epoch).
 */
import * as t from 'io-ts'

export const Person = t.readonly(
  t.type({
    kind: t.literal('person'),
    id: t.number,
    name: t.string,
    emailAddress: t.string,
    creditCard: t.string,
    city: t.string,
    state: t.string,
    dateTime: t.number,
  }),
)
export type Person = t.TypeOf<typeof Person>

export const Auction = t.readonly(
  t.type({
    kind: t.literal('auction'),
    id: t.number,
    itemName: t.string,
    description: t.string,
    initialBid: t.number,
    reserve: t.number,
    dateTime: t.number,
    expires: t.number,
    seller: t.number,
    category: t.number,
  }),
)
export type Auction = t.TypeOf<typeof Auction>

export const Bid = t.readonly(
  t.type({
    kind: t.literal('bid'),
    auction: t.number,
    bidder: t.number,
    price: t.number,
    dateTime: t.number,
  }),
)
export type Bid = t.TypeOf<typeof Bid>

/** One Nexmark event: a new person, a new auction or a bid. */
export const NexmarkEvent = t.union([Bid, Auction, Person])
export type NexmarkEvent = t.TypeOf<typeof NexmarkEvent>

export const isPerson = (e: NexmarkEvent): e is Person => e.kind === 'person'
export const isAuction = (e: NexmarkEvent): e is Auction => e.kind === 'auction'
export const isBid = (e: NexmarkEvent): e is Bid => e.kind === 'bid'
