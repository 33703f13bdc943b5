/**
 * A Nexmark event generator following the specification as Apache Beam's Nexmark suite implements it
 * (`GeneratorConfig`, `generator/model/*`): the kind of event number `n` is fixed by `n mod 50`
 * (1 person, 3 auctions, 46 bids in every 50), every id is derived from the event number, bids and
 * auctions pick "hot" auctions, bidders and sellers in Beam's ratios, auctions expire after a random
 * length averaging the time until `numInFlightAuctions` more auctions exist, and event `n` happens at
 * `baseTime + n / eventsPerSecond`. Everything else is drawn from a random generator seeded with
 * `(seed, n)`, so event `n` is the same whatever was generated before it.
 *
 * Differences from Beam: our own random generator (not `java.util.Random`), so the values differ
 * from Beam's for the same event number while their distributions are the same; one constant rate
 * (Beam's default `SQUARE` shape with equal first and next rates), no `outOfOrderGroupSize` jitter
 * and no `extra` padding field (events are objects in memory here, never serialized).
 */
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts'

export interface GeneratorConfig {
  /** Seeds every event's random values. */
  readonly seed: number
  /** Event time of event 0, ms since the epoch. */
  readonly baseTime: number
  /** Events per second of event time (Beam's `firstEventRate`). */
  readonly eventsPerSecond: number
  /** Persons a random bidder or seller is drawn from (the most recent ones). */
  readonly numActivePeople: number
  /** Auctions a random bid is drawn from (the most recent ones). */
  readonly numInFlightAuctions: number
  /** A bid is for a hot auction with probability `1 - 1/hotAuctionRatio`. */
  readonly hotAuctionRatio: number
  /** An auction is by a hot seller with probability `1 - 1/hotSellersRatio`. */
  readonly hotSellersRatio: number
  /** A bid is by a hot bidder with probability `1 - 1/hotBiddersRatio`. */
  readonly hotBiddersRatio: number
}

/** Beam's `NexmarkConfiguration` defaults (one generator at 10,000 events/s). */
export const defaultGeneratorConfig: GeneratorConfig = {
  seed: 1,
  baseTime: Date.UTC(2015, 6, 15),
  eventsPerSecond: 10_000,
  numActivePeople: 1000,
  numInFlightAuctions: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
}

/** The settings that count people, auctions or odds: positive integers. */
const COUNTS = ['numActivePeople', 'numInFlightAuctions', 'hotAuctionRatio', 'hotSellersRatio', 'hotBiddersRatio'] as const

export const FIRST_PERSON_ID = 1000
export const FIRST_AUCTION_ID = 1000
export const FIRST_CATEGORY_ID = 10
const PERSON_PROPORTION = 1
const AUCTION_PROPORTION = 3
/** 1 person, 3 auctions and 46 bids in every 50 events. */
const PROPORTION_DENOMINATOR = 50
const NUM_CATEGORIES = 5
/** How far past the newest person or auction a random pick may reach (ids not generated yet). */
const ID_LEAD = 10
/** Hot sellers, bidders and auctions are the first of each batch of this many. */
const HOT_BATCH = 100

const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne']
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter']
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']
const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

/** The newest person id (base 0) when event `n` is generated; the new one's if `n` makes a person. */
export const lastPersonId = (n: number): number => Math.floor(n / PROPORTION_DENOMINATOR)

/** The newest auction id (base 0) when event `n` is generated; the new one's if `n` makes an auction. */
export const lastAuctionId = (n: number): number => {
  const epoch = Math.floor(n / PROPORTION_DENOMINATOR)
  const offset = n % PROPORTION_DENOMINATOR
  if (offset < PERSON_PROPORTION) return (epoch - 1) * AUCTION_PROPORTION + AUCTION_PROPORTION - 1
  if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) return epoch * AUCTION_PROPORTION + AUCTION_PROPORTION - 1
  return epoch * AUCTION_PROPORTION + offset - PERSON_PROPORTION
}

/** The kind of event `n`: fixed by `n mod 50`. */
export const kindOf = (n: number): NexmarkEvent['kind'] => {
  const r = n % PROPORTION_DENOMINATOR
  return r < PERSON_PROPORTION ? 'person' : r < PERSON_PROPORTION + AUCTION_PROPORTION ? 'auction' : 'bid'
}

/**
 * A small seedable generator (mulberry32) reused across events: `reseed` per event instead of a new
 * object, as the generator runs inside the benchmark's timed loop.
 */
class Random {
  private s = 0
  reseed(seed: number, n: number): void {
    // Mixes the event number into the seed so neighbouring events get unrelated streams.
    this.s = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n, 0xc2b2ae35) ^ Math.floor(n / 4294967296)
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0
    let t = Math.imul(this.s ^ (this.s >>> 15), 1 | this.s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** Uniform integer in [0, bound). */
  int(bound: number): number {
    return Math.floor(this.next() * bound)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]
  }
  /** Between 1 and `maxLength` lowercase letters. */
  string(maxLength: number): string {
    let s = ''
    for (let i = 1 + this.int(maxLength); i > 0; i--) s += LETTERS[this.int(26)]
    return s
  }
  /** Beam's price: `10^(6u) * 100` cents, rounded: log-uniform from $1 to $1M. */
  price(): number {
    return Math.round(Math.pow(10, this.next() * 6) * 100)
  }
}

/**
 * Generates Nexmark events by event number; `generate` and `eventAt` are the ways in.
 *
 * @example
 * const events = [...new NexmarkGenerator({ seed: 7, eventsPerSecond: 100 }).generate(30_000)]
 */
export class NexmarkGenerator {
  readonly config: GeneratorConfig
  private readonly random = new Random()
  /** Event time between consecutive events, in µs. */
  private readonly delayUs: number

  constructor(config: Partial<GeneratorConfig> = {}) {
    this.config = { ...defaultGeneratorConfig, ...config }
    if (!(this.config.eventsPerSecond > 0)) throw new RangeError(`NexmarkGenerator: eventsPerSecond must be positive, got ${this.config.eventsPerSecond}`)
    for (const k of COUNTS)
      if (!Number.isInteger(this.config[k]) || this.config[k] < 1) throw new RangeError(`NexmarkGenerator: ${k} must be a positive integer, got ${this.config[k]}`)
    this.delayUs = 1_000_000 / this.config.eventsPerSecond
  }

  /** Event time of event `n`, ms since the epoch. */
  timeOf(n: number): number {
    return this.config.baseTime + Math.floor((n * this.delayUs) / 1000)
  }

  /** Event `n` (from 0): the same event for the same seed and number, whatever was generated before. */
  eventAt(n: number): NexmarkEvent {
    this.random.reseed(this.config.seed, n)
    const time = this.timeOf(n)
    const kind = kindOf(n)
    return kind === 'bid' ? this.bid(n, time) : kind === 'auction' ? this.auction(n, time) : this.person(n, time)
  }

  /** Events `from` to `from + count - 1`. */
  *generate(count: number, from = 0): Generator<NexmarkEvent> {
    for (let n = from; n < from + count; n++) yield this.eventAt(n)
  }

  private person(n: number, dateTime: number): Person {
    const r = this.random
    const name = `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`
    const emailAddress = `${r.string(7)}@${r.string(5)}.com`
    const creditCard = `${card(r)} ${card(r)} ${card(r)} ${card(r)}`
    const city = r.pick(CITIES)
    const state = r.pick(STATES)
    return { kind: 'person', id: lastPersonId(n) + FIRST_PERSON_ID, name, emailAddress, creditCard, city, state, dateTime }
  }

  private auction(n: number, dateTime: number): Auction {
    const r = this.random
    const c = this.config
    const seller = r.int(c.hotSellersRatio) > 0 ? Math.floor(lastPersonId(n) / HOT_BATCH) * HOT_BATCH : this.randomPerson(n)
    const category = FIRST_CATEGORY_ID + r.int(NUM_CATEGORIES)
    const initialBid = r.price()
    const expires = dateTime + this.auctionLength(n, dateTime)
    const itemName = r.string(20)
    const description = r.string(100)
    const reserve = initialBid + r.price()
    return {
      kind: 'auction',
      id: lastAuctionId(n) + FIRST_AUCTION_ID,
      itemName,
      description,
      initialBid,
      reserve,
      dateTime,
      expires,
      seller: seller + FIRST_PERSON_ID,
      category,
    }
  }

  private bid(n: number, dateTime: number): Bid {
    const r = this.random
    const c = this.config
    const auction = r.int(c.hotAuctionRatio) > 0 ? Math.floor(lastAuctionId(n) / HOT_BATCH) * HOT_BATCH : this.randomAuction(n)
    // The second person of a batch, so hot bidders and hot sellers differ.
    const bidder = r.int(c.hotBiddersRatio) > 0 ? Math.floor(lastPersonId(n) / HOT_BATCH) * HOT_BATCH + 1 : this.randomPerson(n)
    return { kind: 'bid', auction: auction + FIRST_AUCTION_ID, bidder: bidder + FIRST_PERSON_ID, price: r.price(), dateTime }
  }

  /** One of the last `numActivePeople` persons, or up to 10 not yet generated (base 0). */
  private randomPerson(n: number): number {
    const people = lastPersonId(n) + 1
    const active = Math.min(people, this.config.numActivePeople)
    return people - active + this.random.int(active + ID_LEAD)
  }

  /** One of the last `numInFlightAuctions` auctions, or up to 10 not yet generated (base 0). */
  private randomAuction(n: number): number {
    const last = lastAuctionId(n)
    const first = Math.max(last - this.config.numInFlightAuctions, 0)
    return first + this.random.int(last - first + 1 + ID_LEAD)
  }

  /** 1 ms to twice the time until `numInFlightAuctions` more auctions exist. */
  private auctionLength(n: number, dateTime: number): number {
    const eventsAhead = Math.floor((this.config.numInFlightAuctions * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION)
    const horizon = this.timeOf(n + eventsAhead) - dateTime
    return 1 + this.random.int(Math.max(horizon * 2, 1))
  }
}

const card = (r: Random): string => String(r.int(10_000)).padStart(4, '0')
