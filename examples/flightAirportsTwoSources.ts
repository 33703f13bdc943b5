/**
 * Two named sources joined: the recorded flights (topic `flights`) and the airports table's
 * changelog (topic `airport-changes`: every FAA airport valid from the start, then the made-up
 * renames and the St. Louis closure of examples/data/airportChanges.ndjson), each with its own codec,
 * event time and watermark. The replayed log routes each record to the source its topic names.
 * Each flight is joined with its origin airport as the table stood at its scheduled time
 * (`temporalJoin`), as examples/flightAirportsAsOf.ts does with one source and a union codec.
 *
 * The changelog goes quiet after its last change: its `idleTimeout` lets its watermark follow the
 * clock, so flights are not held until the end of the log waiting for changes that never come.
 *
 * Run it: `npx tsx --conditions=weir-source examples/flightAirportsTwoSources.ts`
 */
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import { boundedOutOfOrder, explain, idleTimeout, keyBy, map, pipeline, remove, replay, source, temporalJoin, upsert, type Change } from 'weirjs'
import { Flight } from './data.ts'
import { flightsAndAirports, type Airport, type FlightOrigin } from './flightAirportsAsOf.ts'

const Airport = t.type({ iata: t.string, name: t.string, city: t.string, state: t.string })

/** One change of the airports table, taking effect at `validFrom` (its event time). */
const AirportChange = t.union([
  t.type({ op: t.literal('upsert'), iata: t.string, validFrom: t.number, airport: Airport }),
  t.type({ op: t.literal('delete'), iata: t.string, validFrom: t.number }),
])

export const flightOrigins = pipeline(
  {
    name: 'flightAirportsTwoSources',
    sources: {
      // Flights leave up to 9 hours after their scheduled time (their event time).
      flights: source({ codec: Flight, eventTime: (f) => f.scheduled, watermark: boundedOutOfOrder('9h') }),
      // Changes come in order; after a day without one, the table is taken as unchanged up to now.
      'airport-changes': source({ codec: AirportChange, eventTime: (c) => c.validFrom, watermark: [boundedOutOfOrder(0), idleTimeout('1d')] }),
    },
  },
  ({ flights, 'airport-changes': changes }) => {
    const airports = pipe(
      changes,
      map((c): Change<string, Airport> => (c.op === 'upsert' ? upsert(c.iata, c.airport) : remove(c.iata))),
    )
    return pipe(
      flights,
      keyBy((f) => f.origin),
      temporalJoin(airports, { type: 'left' }),
      map(({ left: f, right: a }): FlightOrigin => ({ id: f.id, scheduled: f.scheduled, origin: f.origin, name: a?.name })),
    )
  },
)

/** For `weir run examples/flightAirportsTwoSources.ts --log <a log of both topics>`. */
export default flightOrigins

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(explain(flightOrigins))
  const { out, late, deadLetters } = await replay(flightOrigins, await flightsAndAirports())
  console.log(`${out.length} flights named as of their scheduled time (${late.length} late, ${deadLetters.length} dead letters)`)
  for (const f of out.filter((f) => f.origin === 'STL' && f.name === undefined).slice(0, 3))
    console.log(`  ${f.id} ${new Date(f.scheduled).toISOString()} STL: not in the table then`)
}
