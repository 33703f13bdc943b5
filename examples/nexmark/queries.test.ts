import { describe, expect, it } from 'vitest'
import { run } from 'weirjs'
import { NexmarkGenerator } from './generator.ts'
import { isAuction, isBid, isPerson, type Auction, type Bid, type NexmarkEvent, type Person } from './model.ts'
import { defaultQueryConfig, q0, q1, q2, q3, q5, q7, q8, q11 } from './queries.ts'

/**
 * 30,000 events at 100 events/s: 300 s of event time, so 30 tumbling windows of 10 s, 60 hopping
 * windows of 5 s and many sessions, where Beam's 10,000 events/s would give three windows.
 */
const events: NexmarkEvent[] = [...new NexmarkGenerator({ eventsPerSecond: 100 }).generate(30_000)]
const bids = events.filter(isBid)
const SIZE = defaultQueryConfig.windowSizeSec * 1000
const PERIOD = defaultQueryConfig.windowPeriodSec * 1000

/** Sorted copies of rows, by their JSON, for results whose order the query leaves open. */
const sorted = <T>(rows: readonly T[]): string[] => rows.map((r) => JSON.stringify(r)).sort()

const clean = async <O>(p: Parameters<typeof run<NexmarkEvent, O, unknown, NexmarkEvent[]>>[0]) => {
  const r = await run(p, events)
  expect(r.deadLetters).toEqual([])
  expect(r.late).toEqual([])
  return r.out
}

describe('examples/nexmark queries, each against a direct computation over the generated events', () => {
  it('Q0 passes every event through unchanged, in order', async () => {
    expect(await clean(q0())).toEqual(events)
  })

  it('Q1 converts every bid price to euros (89/100, rounded down), in order', async () => {
    const expected: Bid[] = []
    for (const e of events) if (e.kind === 'bid') expected.push({ ...e, price: Math.floor((e.price * 89) / 100) })
    expect(await clean(q1())).toEqual(expected)
  })

  it('Q2 keeps the bids on auctions whose id is a multiple of 123, in order', async () => {
    const expected: { auction: number; price: number }[] = []
    for (const b of bids) if (b.auction % 123 === 0) expected.push({ auction: b.auction, price: b.price })
    expect(expected.length).toBeGreaterThan(10)
    expect(await clean(q2())).toEqual(expected)
  })

  it('Q3 gives each category-10 auction by a seller from OR, ID or CA, whichever of the two came first', async () => {
    const sellers = new Map<number, Person>()
    for (const e of events) if (isPerson(e) && (e.state === 'OR' || e.state === 'ID' || e.state === 'CA')) sellers.set(e.id, e)
    const expected: { name: string; city: string; state: string; id: number }[] = []
    let sellerAfterAuction = 0
    for (let i = 0; i < events.length; i++) {
      const a = events[i]
      if (!isAuction(a) || a.category !== 10) continue
      const p = sellers.get(a.seller)
      if (p === undefined) continue
      expected.push({ name: p.name, city: p.city, state: p.state, id: a.id })
      if (events.indexOf(p) > i) sellerAfterAuction++
    }
    // The join must hold auctions for sellers who register later: the generator makes a few.
    expect(sellerAfterAuction).toBeGreaterThan(0)
    const out = await clean(q3())
    expect(sorted(out)).toEqual(sorted(expected))
  })

  it('Q5 gives, for each 10 s window every 5 s, the auctions with the most bids in it', async () => {
    const counts = new Map<number, Map<number, number>>()
    for (const b of bids)
      for (let start = Math.floor(b.dateTime / PERIOD) * PERIOD; start > b.dateTime - SIZE; start -= PERIOD) {
        const perAuction = counts.get(start) ?? new Map<number, number>()
        counts.set(start, perAuction)
        perAuction.set(b.auction, (perAuction.get(b.auction) ?? 0) + 1)
      }
    const expected: { auction: number; count: number; start: number; end: number }[] = []
    for (const [start, perAuction] of counts) {
      const top = Math.max(...perAuction.values())
      for (const [auction, n] of perAuction) if (n === top) expected.push({ auction, count: top, start, end: start + SIZE })
    }
    expect(counts.size).toBeGreaterThan(50)
    expect(sorted(await clean(q5()))).toEqual(sorted(expected))
  })

  it('Q7 gives the highest bid(s) of each 10 s tumbling window', async () => {
    const best = new Map<number, Bid[]>()
    for (const b of bids) {
      const w = Math.floor(b.dateTime / SIZE)
      const cur = best.get(w)
      if (cur === undefined || b.price > cur[0].price) best.set(w, [b])
      else if (b.price === cur[0].price) cur.push(b)
    }
    const expected = [...best.keys()].sort((a, b) => a - b).flatMap((w) => best.get(w) ?? [])
    expect(best.size).toBe(30)
    expect(await clean(q7())).toEqual(expected)
  })

  it('Q8 pairs each new person with each auction they opened in the same 10 s window', async () => {
    const expected: { id: number; name: string; reserve: number }[] = []
    const persons = events.filter(isPerson)
    const auctions = events.filter(isAuction)
    for (const p of persons)
      for (const a of auctions as Auction[])
        if (a.seller === p.id && Math.floor(a.dateTime / SIZE) === Math.floor(p.dateTime / SIZE)) expected.push({ id: p.id, name: p.name, reserve: a.reserve })
    expect(expected.length).toBeGreaterThan(100)
    expect(sorted(await clean(q8()))).toEqual(sorted(expected))
  })

  it('Q11 counts the bids of each bidder session (a gap of 10 s ends one)', async () => {
    const times = new Map<number, number[]>()
    for (const b of bids) {
      const ts = times.get(b.bidder) ?? []
      times.set(b.bidder, ts)
      ts.push(b.dateTime)
    }
    const expected: { bidder: number; bids: number; start: number; end: number }[] = []
    for (const [bidder, ts] of times) {
      ts.sort((a, b) => a - b)
      let first = 0
      for (let i = 1; i <= ts.length; i++)
        if (i === ts.length || ts[i] - ts[i - 1] >= SIZE) {
          expected.push({ bidder, bids: i - first, start: ts[first], end: ts[i - 1] + SIZE })
          first = i
        }
    }
    expect(expected.length).toBeGreaterThan(1000)
    expect(sorted(await clean(q11()))).toEqual(sorted(expected))
  })

  describe('edge cases', () => {
    it('a malformed event goes to dead letters with its position and the run goes on', async () => {
      const bad = [events[0], { kind: 'bid', auction: 'x' }, events[1]] as NexmarkEvent[]
      const { out, deadLetters } = await run(q0(), bad)
      expect(out).toEqual([events[0], events[1]])
      expect(deadLetters).toMatchObject([{ reason: 'codec', pos: 1 }])
    })
  })
})
