/**
 * Stream-table enrichment over real data: each recorded flight (examples/data/flights.ndjson) is
 * joined with the reference table of airports (examples/data/airports.ndjson) twice, by origin and
 * by destination, to carry both airports' names and states.
 *
 * Run it: `npx tsx examples/flightAirports.ts`
 */
import { fileURLToPath } from 'node:url'
import { pipe } from 'fp-ts/function'
import { boundedOutOfOrder, isDeadLetter, keyBy, map, pipeline, readLog, replay, Table, tableJoin, upsert, type ReadonlyTable } from 'weirjs'
import { dataFile, Flight } from './data.ts'


export interface Airport {
  readonly iata: string
  readonly name: string
  readonly city: string
  readonly state: string
}

/** An airport as the enriched flight shows it; `undefined` fields when the code is not in the table. */
export interface Place {
  readonly iata: string
  readonly name: string | undefined
  readonly state: string | undefined
}

export interface EnrichedFlight {
  readonly id: number
  readonly scheduled: number
  readonly delay: number
  readonly from: Place
  readonly to: Place
  /** Origin and destination are in different states. */
  readonly interstate: boolean
}

/** Loads the airports log into a table keyed by IATA code; each record's offset is kept. */
export async function loadAirports(path = dataFile('airports.ndjson')): Promise<Table<string, Airport>> {
  const airports = new Table<string, Airport>()
  for await (const batch of readLog(path))
    for (const e of batch)
      if (!isDeadLetter(e)) {
        const a = e.event as Airport
        airports.apply(upsert(a.iata, a, undefined, e.offset))
      }
  return airports
}

const place = (iata: string, a: Airport | undefined): Place => ({ iata, name: a?.name, state: a?.state })

/**
 * Flights enriched with their origin and destination airports: two left `tableJoin`s against the
 * airports table, re-keying by destination between them, so a flight from or to an unknown code is
 * still emitted (with `name` and `state` undefined).
 *
 * @example
 * const { out } = await replay(enrichFlights(await loadAirports()), dataFile('flights.ndjson'))
 */
export const enrichFlights = (airports: ReadonlyTable<string, Airport>) =>
  pipeline({ name: 'flightAirports', codec: Flight, eventTime: (f) => f.scheduled, watermark: boundedOutOfOrder('6h') }, (s) =>
    pipe(
      s,
      keyBy((f) => f.origin),
      tableJoin(airports, { type: 'left' }),
      map(({ left: f, right: origin }) => ({ f, from: place(f.origin, origin) })),
      keyBy(({ f }) => f.destination),
      tableJoin(airports, { type: 'left' }),
      map(({ left: { f, from }, right: dest }): EnrichedFlight => {
        const to = place(f.destination, dest)
        return { id: f.id, scheduled: f.scheduled, delay: f.delay, from, to, interstate: from.state !== to.state }
      }),
    ),
  )

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const airports = await loadAirports()
  const { out, deadLetters, metrics } = await replay(enrichFlights(airports), dataFile('flights.ndjson'))
  for (const f of out.slice(0, 5)) console.log(`${f.id}: ${f.from.name} (${f.from.state}) -> ${f.to.name} (${f.to.state})`)
  const interstate = out.filter((f) => f.interstate).length
  console.log(`${out.length} flights, ${interstate} interstate, ${out.length - interstate} within one state; ${deadLetters.length} dead letters`)
  console.log(`${Math.round(metrics.eventsPerSecond).toLocaleString('en-US')} events/s`)
}
