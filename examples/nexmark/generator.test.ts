import { describe, expect, it } from 'vitest'
import { FIRST_AUCTION_ID, FIRST_PERSON_ID, NexmarkGenerator, lastAuctionId, lastPersonId } from './generator.ts'
import { isAuction, isBid, isPerson, NexmarkEvent } from './model.ts'

const N = 10_000
const events = [...new NexmarkGenerator().generate(N)]

describe('examples/nexmark generator', () => {
  it('makes 1 person, 3 auctions and 46 bids in every 50 events, by event number', () => {
    expect(events.slice(0, 50).map((e) => e.kind)).toEqual(['person', 'auction', 'auction', 'auction', ...Array(46).fill('bid')])
    expect(events.filter(isPerson).length).toBe(N / 50)
    expect(events.filter(isAuction).length).toBe((3 * N) / 50)
    expect(events.filter(isBid).length).toBe((46 * N) / 50)
  })

  it('numbers persons and auctions consecutively from 1000, ids derived from the event number', () => {
    expect(events.filter(isPerson).map((p) => p.id)).toEqual(Array.from({ length: N / 50 }, (_, i) => FIRST_PERSON_ID + i))
    expect(events.filter(isAuction).map((a) => a.id)).toEqual(Array.from({ length: (3 * N) / 50 }, (_, i) => FIRST_AUCTION_ID + i))
    expect([lastPersonId(0), lastPersonId(49), lastPersonId(50)]).toEqual([0, 0, 1])
    expect([lastAuctionId(1), lastAuctionId(3), lastAuctionId(4), lastAuctionId(50), lastAuctionId(51)]).toEqual([0, 2, 2, 2, 3])
  })

  it('gives event n the time baseTime + n / eventsPerSecond, so the stream is in event-time order', () => {
    const g = new NexmarkGenerator({ eventsPerSecond: 250, baseTime: 1_000_000 })
    expect([g.timeOf(0), g.timeOf(1), g.timeOf(250), g.timeOf(251)]).toEqual([1_000_000, 1_000_004, 1_001_000, 1_001_004])
    for (let i = 1; i < events.length; i++) expect(events[i].dateTime).toBeGreaterThanOrEqual(events[i - 1].dateTime)
  })

  it('is deterministic: the same seed and number give the same event, whatever came before', () => {
    expect([...new NexmarkGenerator().generate(100, 5_000)]).toEqual(events.slice(5_000, 5_100))
    const other = [...new NexmarkGenerator({ seed: 2 }).generate(100, 5_000)]
    expect(other).not.toEqual(events.slice(5_000, 5_100))
    expect(other.map((e) => e.kind)).toEqual(events.slice(5_000, 5_100).map((e) => e.kind))
  })

  it('sends most bids to hot auctions and hot bidders, and most auctions to hot sellers, in Beam ratios', () => {
    const bids = events.filter(isBid)
    const hotAuction = bids.filter((b) => (b.auction - FIRST_AUCTION_ID) % 100 === 0).length / bids.length
    const hotBidder = bids.filter((b) => (b.bidder - FIRST_PERSON_ID) % 100 === 1).length / bids.length
    const auctions = events.filter(isAuction)
    const hotSeller = auctions.filter((a) => (a.seller - FIRST_PERSON_ID) % 100 === 0).length / auctions.length
    // hotAuctionRatio 2: 1/2 hot plus the random picks that land on one; hotBidders and hotSellers 4: 3/4.
    expect(hotAuction).toBeGreaterThan(0.48)
    expect(hotAuction).toBeLessThan(0.56)
    expect(hotBidder).toBeGreaterThan(0.72)
    expect(hotBidder).toBeLessThan(0.8)
    expect(hotSeller).toBeGreaterThan(0.7)
    expect(hotSeller).toBeLessThan(0.8)
  })

  it('draws random bidders among the active people plus a lead of 10 not yet registered', () => {
    for (let n = 0; n < N; n++) {
      const e = events[n]
      if (isBid(e)) {
        const last = lastPersonId(n) + FIRST_PERSON_ID
        expect(e.bidder).toBeLessThanOrEqual(last + 10)
        expect(e.bidder).toBeGreaterThanOrEqual(last + 1 - 1000)
      }
      if (isAuction(e)) expect(e.expires).toBeGreaterThan(e.dateTime)
    }
  })

  it('makes events the codec accepts', () => {
    for (const e of events.slice(0, 200)) expect(NexmarkEvent.is(e)).toBe(true)
  })

  describe('edge cases', () => {
    it('rejects a rate that is not positive', () => {
      expect(() => new NexmarkGenerator({ eventsPerSecond: 0 })).toThrow(/eventsPerSecond must be positive, got 0/)
    })

    it('rejects counts and ratios that are not positive integers', () => {
      expect(() => new NexmarkGenerator({ hotAuctionRatio: 0 })).toThrow(/hotAuctionRatio must be a positive integer, got 0/)
      expect(() => new NexmarkGenerator({ numActivePeople: 2.5 })).toThrow(/numActivePeople must be a positive integer, got 2.5/)
      expect(new NexmarkGenerator({ hotBiddersRatio: 1 }).eventAt(10)).toMatchObject({ kind: 'bid' })
    })
  })
})
