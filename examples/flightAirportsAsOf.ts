/**
 * An event-time temporal join over real flights: each recorded flight (examples/data/flights.ndjson)
 * is joined with its origin airport as the airports table stood at the flight's scheduled time. The
 * table is a changelog inside the pipeline: the FAA airports (examples/data/airports.ndjson), valid
 * from the start, then a few made-up changes during the quarter (examples/data/airportChanges.ndjson:
 * three renames, and St. Louis dropped from the table for five days). A delayed flight scheduled
 * before a rename but leaving after it still gets the old name, where `tableJoin` (as of arrival)
 * gives it the new one.
 *
 * Run it: `npx tsx --conditions=weir-source examples/flightAirportsAsOf.ts`
 */
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import {
  boundedOutOfOrder,
  filter,
  isDeadLetter,
  keyBy,
  map,
  pipeline,
  readLog,
  remove,
  replay,
  tableJoin,
  temporalJoin,
  upsert,
  type Change,
  type LogRecordInput,
} from 'weirjs'
import { dataFile, Flight } from './data.ts'

const Airport = t.type({ iata: t.string, name: t.string, city: t.string, state: t.string })
export type Airport = t.TypeOf<typeof Airport>

/** One change of the airports table, taking effect at `validFrom` (its event time). */
const AirportChange = t.union([
  t.type({ op: t.literal('upsert'), iata: t.string, validFrom: t.number, airport: Airport }),
  t.type({ op: t.literal('delete'), iata: t.string, validFrom: t.number }),
])
export type AirportChange = t.TypeOf<typeof AirportChange>

const isChange = (r: Flight | AirportChange): r is AirportChange => 'validFrom' in r
const isFlight = (r: Flight | AirportChange): r is Flight => !('validFrom' in r)

export interface FlightOrigin {
  readonly id: number
  readonly scheduled: number
  readonly origin: string
  /** The origin airport's name as of the flight's scheduled time; undefined when it was not in the table then. */
  readonly name: string | undefined
}

/**
 * Flights with their origin's name, from the airports table as of each flight's scheduled time
 * (`'eventTime'`, a `temporalJoin`) or as of the moment the flight's record is processed
 * (`'arrival'`, a `tableJoin`), for comparison. The watermark trails the latest scheduled time by
 * 9 hours, more than the longest delay, so no flight is late.
 */
export const flightOrigins = (asOf: 'eventTime' | 'arrival' = 'eventTime') =>
  pipeline(
    {
      name: 'flightAirportsAsOf',
      codec: t.union([Flight, AirportChange]),
      eventTime: (r) => (isChange(r) ? r.validFrom : r.scheduled),
      watermark: boundedOutOfOrder('9h'),
    },
    (s) => {
      const airports = pipe(
        s,
        filter(isChange),
        map((c): Change<string, Airport> => (c.op === 'upsert' ? upsert(c.iata, c.airport) : remove(c.iata))),
      )
      const flights = pipe(s, filter(isFlight), keyBy((f) => f.origin))
      return pipe(
        flights,
        asOf === 'eventTime' ? temporalJoin(airports, { type: 'left' }) : tableJoin(airports, { type: 'left' }),
        map(({ left: f, right: a }): FlightOrigin => ({ id: f.id, scheduled: f.scheduled, origin: f.origin, name: a?.name })),
      )
    },
  )

/**
 * The one log the pipeline replays: every airport as an upsert valid from the epoch (arriving
 * first), then the airport changes and the flights, merged in arrival order.
 */
export async function flightsAndAirports(): Promise<LogRecordInput[]> {
  const read = async (name: string) => {
    const out: { arrival: number; topic: string; event: unknown }[] = []
    for await (const batch of readLog(dataFile(name))) for (const e of batch) if (!isDeadLetter(e)) out.push(e)
    return out
  }
  const airports = (await read('airports.ndjson')).map((r) => {
    const a = r.event as Airport
    return { arrival: 0, topic: 'airport-changes', event: { op: 'upsert', iata: a.iata, validFrom: 0, airport: a } }
  })
  // A stable sort: at equal arrivals, airport changes stay before flights.
  const merged = [...airports, ...(await read('airportChanges.ndjson')), ...(await read('flights.ndjson'))].sort((a, b) => a.arrival - b.arrival)
  return merged.map((r, i) => ({ offset: i + 1, ...r }))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const log = await flightsAndAirports()
  const asOfTime = (await replay(flightOrigins('eventTime'), log)).out
  const asOfArrival = new Map((await replay(flightOrigins('arrival'), log)).out.map((f) => [f.id, f.name]))
  const differ = asOfTime.filter((f) => f.name !== asOfArrival.get(f.id))
  console.log(`${asOfTime.length} flights; ${differ.length} got another origin name as of their scheduled time than as of their departure:`)
  for (const f of differ.slice(0, 5)) console.log(`  ${f.id} ${new Date(f.scheduled).toISOString()} ${f.origin}: ${f.name} (not ${asOfArrival.get(f.id)})`)
}
