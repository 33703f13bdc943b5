/**
 * The property kit over users' own event types, used as a user would on weir's examples: logs of
 * flights and stock prices with bounded disorder, redeliveries and malformed lines, and the laws that
 * hold for aggregating pipelines. Each property also runs against a mutant of its example and must
 * fail there.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, keyBy, map, pipeline, replay, session, Table, tableJoin, upsert, window, windowId, type Pipeline, type Stream } from 'weirjs'
import {
  changelogMatchesFinal,
  eventLog,
  everyInputIsAccountedFor,
  everyLineIsAccountedFor,
  LawViolation,
  orderInsensitive,
  redelivered,
  reorderedWithin,
  restoreMatchesUninterrupted,
  shuffled,
  type EventShape,
} from 'weirjs/property-tests'
import weeklyDelays, { BUSIEST } from '../examples/weeklyDelays.ts'
import { departuresPerHour, finalResults } from '../examples/flightRates.ts'
import { enrichFlights, type Airport } from '../examples/flightAirports.ts'
import { stockRecoveries, type Stock } from '../examples/stockRecoveries.ts'
import type { Flight } from '../examples/data.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Flights as a user describes them to the kit: any flight, with the log setting its time and origin. */
const flights: EventShape<Flight> = {
  events: fc.record({
    id: fc.nat(),
    scheduled: fc.constant(0),
    delay: fc.integer({ min: -15, max: 480 }),
    distance: fc.integer({ min: 50, max: 3000 }),
    origin: fc.constant(''),
    destination: fc.constantFrom('ORD', 'LAX', 'SFO', 'XXX'),
  }),
  timeOf: (f) => f.scheduled,
  withTime: (f, scheduled) => ({ ...f, scheduled }),
  withKey: (f, origin) => ({ ...f, origin }),
}
const flightLog = (maxDisorder: number, maxStep = 2 * HOUR) =>
  eventLog({ ...flights, keys: ['ORD', 'ATL', 'BOS', 'XXX'], maxStep, maxDisorder, malformed: true, minLength: 5 })
const withBound = <I, O, K>(p: Pipeline<I, O, K>, maxDelay: number): Pipeline<I, O, K> => ({ ...p, watermarks: { ...p.watermarks, maxDelay } })

/** Passes when `check` finds a log its law or assertion fails on: the mutant is caught. */
const caught = async (check: () => Promise<void>) => {
  const failure: unknown = await check().then(() => undefined, (e: unknown) => e)
  expect(String((failure as { cause?: unknown } | undefined)?.cause)).toMatch(/^(LawViolation|AssertionError): /)
}

describe('eventLog over the user’s own event type', () => {
  it('sets times and keys through the shape, keeping disorder within the bound, redeliveries and malformed lines', () => {
    const seen = { malformed: 0, duplicates: 0, disordered: 0 }
    fc.assert(
      fc.property(eventLog({ ...flights, keys: ['ORD', 'ATL'], maxDisorder: HOUR, duplicates: true, malformed: true, idleGap: DAY }), (log) => {
        let max = Number.NEGATIVE_INFINITY
        for (const r of log.records) {
          expect(['ORD', 'ATL']).toContain(r.event.origin)
          expect(r.event.scheduled).toBeLessThanOrEqual(r.arrival)
          if (r.event.scheduled < max) seen.disordered++
          max = Math.max(max, r.event.scheduled)
        }
        expect(log.lines.length).toBe(log.records.length + log.malformed)
        seen.malformed += log.malformed
        seen.duplicates += log.duplicates
      }),
      { seed: 1801, numRuns: 100 },
    )
    expect(seen.malformed).toBeGreaterThan(0)
    expect(seen.duplicates).toBeGreaterThan(0)
    expect(seen.disordered).toBeGreaterThan(0)
  })

  it('reorderedWithin, redelivered and shuffled keep the user’s events and read their times through the shape', () => {
    fc.assert(
      fc.property(
        flightLog(HOUR).chain((log) => fc.tuple(fc.constant(log), reorderedWithin(log, 2 * HOUR), redelivered(log), shuffled(log))),
        ([log, reordered, again, mixed]) => {
          const ids = (l: typeof log) => l.records.map((r) => `${r.offset}:${r.event.id}`).sort()
          expect(ids(reordered)).toEqual([...new Set(ids(log))])
          for (const r of reordered.records) expect(r.arrival - r.event.scheduled).toBeLessThanOrEqual(2 * HOUR)
          expect(again.records.length).toBe(log.records.length + again.duplicates)
          expect(ids(mixed)).toEqual(ids(log))
        },
      ),
      { seed: 1802, numRuns: 100 },
    )
  })
})

describe('laws for aggregating pipelines, on the examples', () => {
  it('everyLineIsAccountedFor fails on a window; everyInputIsAccountedFor follows each flight into its week', async () => {
    const busiest = (f: Flight) => (BUSIEST as readonly string[]).includes(f.origin)
    const accounting = { inputsOf: (w: { flights: number }) => w.flights, admits: busiest }
    await fc.assert(
      fc.asyncProperty(flightLog(8 * HOUR), async (log) => {
        await everyInputIsAccountedFor(weeklyDelays, log.lines, accounting)
      }),
      { seed: 1803, numRuns: 40 },
    )
    // The 1:1 law is not for aggregations: two flights of one week are one output.
    const twoInOneWeek = flightLog(0).filter((l) => l.records.filter((r) => busiest(r.event)).length >= 2)
    const [log] = fc.sample(twoInOneWeek, { seed: 1, numRuns: 1 })
    await expect(everyLineIsAccountedFor(weeklyDelays, log.lines)).rejects.toThrow(LawViolation)
    await expect(everyLineIsAccountedFor(weeklyDelays, log.lines)).rejects.toThrow(/this law is for 1:1 pipelines: .* use everyInputIsAccountedFor$/)
  })

  it('flightAirports: every flight comes out enriched once, even from an unknown airport (an inner join loses it)', async () => {
    const airports = new Table<string, Airport>()
    for (const iata of ['ORD', 'ATL', 'LAX', 'SFO']) airports.apply(upsert(iata, { iata, name: iata, city: iata, state: 'CA', latitude: 0, longitude: 0 }))
    const law = (p: Pipeline<Flight, unknown, unknown>) =>
      fc.assert(
        fc.asyncProperty(flightLog(6 * HOUR), async (log) => {
          await everyInputIsAccountedFor(p, log.lines, { inputsOf: () => 1 })
        }),
        { seed: 1804, numRuns: 30 },
      )
    await law(enrichFlights(airports))
    await caught(() => law(innerJoinFlights(airports)))
  })

  it('weeklyDelays: any arrival order within 9 hours gives the same weeks (a 1-hour bound does not)', async () => {
    const law = (p: typeof weeklyDelays) =>
      fc.assert(
        fc.asyncProperty(
          // Steps of up to 12 hours: logs of a few weeks, so flights arrive across week boundaries.
          flightLog(8 * HOUR, 12 * HOUR).chain((log) => fc.tuple(fc.constant(log), reorderedWithin(log, 9 * HOUR))),
          async ([log, other]) => orderInsensitive(p, log.lines, other.lines),
        ),
        { seed: 1805, numRuns: 30 },
      )
    await law(weeklyDelays)
    await caught(() => law(withBound(weeklyDelays, HOUR)))
  })

  it('flightRates: late departures update their hours to the same final counts in any order (not without allowed lateness)', async () => {
    // The last result per hour, in a fixed order (windows fire in arrival order).
    const finalize = (out: readonly unknown[]) => [...finalResults(out as never).values()].map((r) => JSON.stringify(r)).sort()
    const law = (p: ReturnType<typeof departuresPerHour>) =>
      fc.assert(
        fc.asyncProperty(
          flightLog(8 * HOUR).chain((log) => fc.tuple(fc.constant(log), reorderedWithin(log, 9 * HOUR))),
          async ([log, other]) => {
            await orderInsensitive(p, log.lines, other.lines, { finalize })
            await everyInputIsAccountedFor(p, log.lines, { inputsOf: (r) => r.value, finalize: (out) => [...finalResults(out).values()] })
          },
        ),
        { seed: 1806, numRuns: 30 },
      )
    await law(departuresPerHour())
    await caught(() => law(departuresPerHour('0s')))
  })

  it("'updates' applied to an empty table equals 'final', and a restore at any cut equals the uninterrupted run", async () => {
    const perUser = (emit: 'final' | 'updates') =>
      pipeline({ eventTime: (f: Flight) => f.scheduled, watermark: boundedOutOfOrder(HOUR) }, (s: Stream<Flight>) =>
        pipe(s, keyBy((f) => f.origin), window(session(3 * HOUR), { emit }), aggregate(count)),
      )
    await fc.assert(
      fc.asyncProperty(flightLog(HOUR), async (log) => {
        await changelogMatchesFinal(perUser('updates'), perUser('final'), log.lines, (r) => windowId(r.key, r.window))
        await restoreMatchesUninterrupted(departuresPerHour(), log.lines)
        await restoreMatchesUninterrupted(perUser('updates'), log.lines)
      }),
      { seed: 1807, numRuns: 15 },
    )
  })
})

describe('edge cases of the laws', () => {
  it('restoreMatchesUninterrupted catches state kept outside the pipeline (a counter in a closure is not in the checkpoint)', async () => {
    let seen = 0
    const numbered = pipeline({ eventTime: (f: Flight) => f.scheduled }, (s: Stream<Flight>) => pipe(s, map((f) => ({ id: f.id, n: ++seen }))))
    const [log] = fc.sample(flightLog(0), { seed: 2, numRuns: 1 })
    await expect(restoreMatchesUninterrupted(numbered, log.lines, { cuts: [2] })).rejects.toThrow(/restored at record 2 of \d+, the run differs/)
  })

  it('everyInputIsAccountedFor reads redeliveries by occurrence: a late copy of a record that joined leaves the original counted', async () => {
    const lines = [
      '{"offset":1,"arrival":0,"event":{"id":1,"scheduled":0,"delay":0,"distance":1,"origin":"ORD","destination":"LAX"}}',
      '{"offset":2,"arrival":1,"event":{"id":2,"scheduled":7200000,"delay":0,"distance":1,"origin":"ORD","destination":"LAX"}}',
      '{"offset":1,"arrival":2,"event":{"id":1,"scheduled":0,"delay":0,"distance":1,"origin":"ORD","destination":"LAX"}}',
    ]
    await everyInputIsAccountedFor(departuresPerHour('0s'), lines, { inputsOf: (r) => r.value })
  })
})

describe('a property of the user’s own: stockRecoveries', () => {
  const stocks: EventShape<Stock> = {
    events: fc.record({ symbol: fc.constant(''), date: fc.constant(0), price: fc.integer({ min: 50, max: 150 }) }),
    timeOf: (s) => s.date,
    withTime: (s, date) => ({ ...s, date }),
    withKey: (s, symbol) => ({ ...s, symbol }),
  }
  const months = eventLog({ ...stocks, keys: ['AAPL', 'IBM'], start: Date.UTC(2000, 0, 1), maxStep: 31 * DAY, minLength: 10, maxLength: 80 })

  it('every reported drop fell by 15% at least, and every recovery came back to the price before it in time', async () => {
    const law = (p: ReturnType<typeof stockRecoveries>) =>
      fc.assert(
        fc.asyncProperty(months, async (log) => {
          const { out } = await replay(p, log.lines)
          for (const r of out) {
            expect(r.drop.price).toBeLessThanOrEqual(r.before.price * 0.85)
            if (r._tag === 'Recovered') {
              expect(r.recovery.price).toBeGreaterThanOrEqual(r.before.price)
              expect(r.recovery.date - r.before.date).toBeLessThanOrEqual(Math.round((30.44 * 6 + 15) * DAY))
            }
          }
        }),
        { seed: 1808, numRuns: 40 },
      )
    await law(stockRecoveries())
    await caught(() => law(stockRecoveries({ drop: 0.1 })))
  })
})

/** flightAirports with an inner join in place of the first left join: flights from unknown airports vanish. */
function innerJoinFlights(airports: Table<string, Airport>): Pipeline<Flight, unknown, unknown> {
  const p = enrichFlights(airports)
  return pipeline({ name: 'innerJoinMutant', codec: p.codec, eventTime: p.eventTime, watermark: boundedOutOfOrder('6h') }, (s: Stream<Flight>) =>
    pipe(
      s,
      keyBy((f) => f.origin),
      tableJoin(airports, { type: 'inner' }),
      map(({ left: f }) => f),
    ),
  ) as Pipeline<Flight, unknown, unknown>
}
