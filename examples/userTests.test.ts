/**
 * weir's examples tested as a user would test their own pipelines, with `weirjs/testing` and
 * `weirjs/property-tests`. Each check also runs against a mutant of its example (one plausible bug)
 * and must fail there: a check that passes on both would test nothing.
 */
import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/function'
import { boundedOutOfOrder, map, pipeline, tableJoin, keyBy, Table, upsert, type Pipeline } from 'weirjs'
import { expectMarbles, testPipeline } from 'weirjs/testing'
import weeklyDelays from './weeklyDelays.ts'
import { departuresPerHour } from './flightRates.ts'
import { enrichFlights, type Airport } from './flightAirports.ts'
import { stockRecoveries } from './stockRecoveries.ts'
import { Flight } from './data.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** 2001-01-01, a Monday. */
const MONDAY = Date.UTC(2001, 0, 1)

let nextId = 1
const flight = (origin: string, scheduled: number, delay = 0, destination = 'LAX'): Flight => ({
  id: nextId++,
  scheduled,
  delay,
  distance: 100,
  origin,
  destination,
})
/** A flight as the log records it: when it actually left. */
const departs = (f: Flight) => ({ at: f.scheduled + f.delay * 60_000 })

/** A mutant: the same pipeline with another watermark bound (events beyond it are late). */
const withBound = <I, O, K>(p: Pipeline<I, O, K>, maxDelay: number): Pipeline<I, O, K> => ({ ...p, watermarks: { ...p.watermarks, maxDelay } })

const airports = new Table<string, Airport>()
airports.apply(upsert('ORD', { iata: 'ORD', name: "Chicago O'Hare", city: 'Chicago', state: 'IL', latitude: 0, longitude: 0 }))
airports.apply(upsert('MDW', { iata: 'MDW', name: 'Chicago Midway', city: 'Chicago', state: 'IL', latitude: 0, longitude: 0 }))
/** The same pipeline with an inner join in place of the left one: flights to unknown airports vanish. */
const innerJoinMutant = (table: Table<string, Airport>) =>
  pipeline({ name: 'flightAirports', codec: Flight, eventTime: (f) => f.scheduled, watermark: boundedOutOfOrder('6h') }, (s) =>
    pipe(
      s,
      keyBy((f) => f.origin),
      tableJoin(table, { type: 'inner' }),
      map(({ left: f, right: origin }) => ({ f, from: { iata: f.origin, name: origin.name, state: origin.state } })),
      keyBy(({ f }) => f.destination),
      tableJoin(table, { type: 'left' }),
      map(({ left: { f, from }, right: dest }) => {
        const to = { iata: f.destination, name: dest?.name, state: dest?.state }
        return { id: f.id, scheduled: f.scheduled, delay: f.delay, from, to, interstate: from.state !== to.state }
      }),
    ),
  )

describe('driving the examples step by step (testPipeline)', () => {
  /** A flight that leaves 8 hours late still counts in its scheduled week, which fires a bound later. */
  const checkWeeklyDelays = (p: typeof weeklyDelays) => {
    const d = testPipeline(p)
    const late = flight('ORD', MONDAY + 6 * DAY + 20 * HOUR, 8 * 60)
    d.send(flight('ORD', MONDAY + HOUR, 10), departs(flight('ORD', MONDAY + HOUR, 10)))
    d.send(flight('ORD', MONDAY + 7 * DAY + 2 * HOUR, 0), { at: MONDAY + 7 * DAY + 2 * HOUR })
    expect(d.takeOutput()).toEqual([])
    d.send(late, departs(late))
    d.send(flight('BOS', MONDAY + 2 * HOUR, 100))
    d.advanceWatermarkTo(MONDAY + 7 * DAY)
    expect(d.takeOutput()).toEqual([{ airport: 'ORD', week: '2001-01-01', flights: 2, meanDelayMinutes: 245 }])
    expect(d.late.take()).toEqual([])
  }

  it('weeklyDelays: a flight that leaves hours late still counts in its week', () => {
    checkWeeklyDelays(weeklyDelays)
    expect(() => checkWeeklyDelays(withBound(weeklyDelays, HOUR))).toThrow()
  })

  /** With allowed lateness, a delayed departure updates its hour again after the hour fired. */
  const checkRates = (p: ReturnType<typeof departuresPerHour>) => {
    const d = testPipeline(p)
    d.send(flight('ORD', MONDAY + 10 * 60_000))
    d.send(flight('ORD', MONDAY + 3 * HOUR))
    const r1 = d.takeOutput()
    expect(r1).toEqual([{ key: 'ORD', window: { start: MONDAY, end: MONDAY + HOUR }, value: 1 }])
    d.send(flight('ORD', MONDAY + 20 * 60_000, 170))
    expect(d.takeOutput()).toEqual([{ key: 'ORD', window: { start: MONDAY, end: MONDAY + HOUR }, value: 2 }])
    expect(d.late.size).toBe(0)
  }

  it('flightRates: a late departure within allowed lateness updates its hour', () => {
    checkRates(departuresPerHour())
    expect(() => checkRates(departuresPerHour('1h'))).toThrow()
  })

  const checkAirports = (p: ReturnType<typeof enrichFlights>) => {
    const d = testPipeline(p)
    const inState = flight('ORD', MONDAY, 0, 'MDW')
    const unknown = flight('XXX', MONDAY + HOUR, 5, 'ORD')
    d.send(inState).send(unknown)
    expect(d.takeOutput()).toEqual([
      { id: inState.id, scheduled: MONDAY, delay: 0, interstate: false, from: { iata: 'ORD', name: "Chicago O'Hare", state: 'IL' }, to: { iata: 'MDW', name: 'Chicago Midway', state: 'IL' } },
      { id: unknown.id, scheduled: MONDAY + HOUR, delay: 5, interstate: true, from: { iata: 'XXX', name: undefined, state: undefined }, to: { iata: 'ORD', name: "Chicago O'Hare", state: 'IL' } },
    ])
  }

  it('flightAirports: a flight from an unknown airport is still enriched, with its known side', () => {
    checkAirports(enrichFlights(airports))
    expect(() => checkAirports(innerJoinMutant(airports) as unknown as ReturnType<typeof enrichFlights>)).toThrow()
  })

  const month = (m: number) => Date.UTC(2000, m, 1)
  const checkRecoveries = (p: ReturnType<typeof stockRecoveries>) => {
    const d = testPipeline(p)
    const prices = [100, 80, 85, 90, 95, 98, 99, 100, 50]
    prices.forEach((price, m) => d.send({ symbol: 'ACME', date: month(m), price }))
    // The recovery to 100 comes 7 months after the month before the drop: too late for 6 months.
    const out = d.takeOutput()
    expect(out).toEqual([{ _tag: 'NotRecovered', symbol: 'ACME', before: { symbol: 'ACME', date: month(0), price: 100 }, drop: { symbol: 'ACME', date: month(1), price: 80 } }])
    d.end()
    expect(d.takeOutput().map((r) => r._tag)).toEqual(['NotRecovered'])
  }

  it('stockRecoveries: a recovery after the deadline is a drop that did not recover', () => {
    checkRecoveries(stockRecoveries({ months: 6 }))
    expect(() => checkRecoveries(stockRecoveries({ months: 7 }))).toThrow()
  })
})

describe('the examples in marbles (expectMarbles)', () => {
  /** Rejects when the marble check passes: the mutant must be caught. */
  const caught = (check: Promise<void>) => expect(check).rejects.toThrow(/^marbles: output differs at frame/)

  it('weeklyDelays: a week closes 9 hours after its end, counting a flight that left 8 hours late', async () => {
    const spec = (p: typeof weeklyDelays) =>
      expectMarbles(p, {
        frame: '12h',
        origin: MONDAY,
        input: '  a------------- b c d    |',
        events: {
          a: flight('ORD', MONDAY + HOUR),
          b: flight('ORD', MONDAY + 7 * DAY + 2 * HOUR),
          c: flight('ORD', MONDAY + 6 * DAY + 20 * HOUR, 8 * 60),
          d: flight('ORD', MONDAY + 7 * DAY + 10 * HOUR),
        },
        output: ' -------------- - - x (y|)',
        outputs: {
          x: { airport: 'ORD', week: '2001-01-01', flights: 2, meanDelayMinutes: 240 },
          y: { airport: 'ORD', week: '2001-01-08', flights: 2, meanDelayMinutes: 0 },
        },
        late: '',
      })
    await spec(weeklyDelays)
    await caught(spec(withBound(weeklyDelays, HOUR)))
  })

  it('flightRates: an hour fires when the watermark passes it, and again for a late departure', async () => {
    const hour0 = { start: MONDAY, end: MONDAY + HOUR }
    const spec = (p: ReturnType<typeof departuresPerHour>) =>
      expectMarbles(p, {
        frame: '10m',
        origin: MONDAY,
        input: ' -a---------------- b c |',
        events: { a: flight('ORD', MONDAY + 10 * 60_000), b: flight('ORD', MONDAY + 3 * HOUR), c: flight('ORD', MONDAY + 20 * 60_000, 170) },
        output: '------------------ x y (z|)',
        outputs: {
          x: { key: 'ORD', window: hour0, value: 1 },
          y: { key: 'ORD', window: hour0, value: 2 },
          z: { key: 'ORD', window: { start: MONDAY + 3 * HOUR, end: MONDAY + 4 * HOUR }, value: 1 },
        },
      })
    await spec(departuresPerHour())
    await caught(spec(departuresPerHour('1h')))
  })

  it('flightAirports: every flight comes out at once, enriched', async () => {
    const a = flight('ORD', MONDAY, 0, 'MDW')
    const b = flight('XXX', MONDAY + HOUR, 0, 'ORD')
    const spec = (p: ReturnType<typeof enrichFlights>) =>
      expectMarbles(p, {
        input: ' a-b|',
        events: { a, b },
        output: 'x-y|',
        outputs: {
          x: { id: a.id, scheduled: a.scheduled, delay: 0, interstate: false, from: { iata: 'ORD', name: "Chicago O'Hare", state: 'IL' }, to: { iata: 'MDW', name: 'Chicago Midway', state: 'IL' } },
          y: { id: b.id, scheduled: b.scheduled, delay: 0, interstate: true, from: { iata: 'XXX', name: undefined, state: undefined }, to: { iata: 'ORD', name: "Chicago O'Hare", state: 'IL' } },
        },
      })
    await spec(enrichFlights(airports))
    await caught(spec(innerJoinMutant(airports) as unknown as ReturnType<typeof enrichFlights>))
  })

  it('stockRecoveries: a drop times out when its 6 months are over in event time', async () => {
    const price = (p: number) => ({ symbol: 'X', date: 0, price: p })
    const spec = (p: ReturnType<typeof stockRecoveries>) =>
      expectMarbles(p, {
        // Frames of 30 days, each price dated at its frame: the recovery (r) comes 210 days after
        // the month before the drop, past the 6 months (198 days) the pattern allows.
        frame: '30d',
        origin: Date.UTC(2000, 0, 1),
        stamp: (s, t) => ({ ...s, date: t }),
        input: ' abcdefgr|',
        events: { a: price(100), b: price(80), c: price(85), d: price(90), e: price(95), f: price(96), g: price(97), r: price(100) },
        output: '-------x|',
        outputs: {
          x: { _tag: 'NotRecovered', symbol: 'X', before: { symbol: 'X', date: Date.UTC(2000, 0, 1), price: 100 }, drop: { symbol: 'X', date: Date.UTC(2000, 0, 31), price: 80 } },
        },
      })
    await spec(stockRecoveries())
    await caught(spec(stockRecoveries({ months: 7 })))
  })
})
