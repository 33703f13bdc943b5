/**
 * The main example (`npm start`): flights per week and mean departure delay at the five busiest
 * airports of the bundled log (examples/data/flights.ndjson, US DOT on-time records, January–March
 * 2001), replayed in virtual time.
 *
 * A flight is recorded when it actually leaves, so the log is out of order in event time (the
 * scheduled departure) by up to the longest delay, 8.7 hours: a 9-hour bound keeps every flight on
 * time. Weeks start on Monday: 2001-01-01 was a Monday, and the epoch a Thursday, hence the
 * 4-day offset.
 *
 * Run it: `npm start`, or `npx weir run examples/weeklyDelays.ts --log examples/data/flights.ndjson`.
 */
import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, filter, keyBy, map, mean, pipeline, tumbling, window } from 'weirjs'
import { Flight } from './data.ts'


export const BUSIEST = ['ORD', 'ATL', 'DFW', 'LAX', 'PHX'] as const

/** One line of output: an airport's week. */
export interface AirportWeek {
  readonly airport: string
  readonly week: string
  readonly flights: number
  readonly meanDelayMinutes: number
}

export default pipeline(
  { name: 'weeklyDelays', codec: Flight, eventTime: (f) => f.scheduled, watermark: boundedOutOfOrder('9h') },
  (flights) =>
    pipe(
      flights,
      filter((f) => (BUSIEST as readonly string[]).includes(f.origin)),
      keyBy((f) => f.origin),
      window(tumbling('7d', { offset: '4d' })),
      aggregate({ n: count, delay: mean((f: Flight) => f.delay) }),
      map(
        (r): AirportWeek => ({
          airport: r.key,
          week: new Date(r.window.start).toISOString().slice(0, 10),
          flights: r.value.n,
          meanDelayMinutes: Math.round(r.value.delay * 10) / 10,
        }),
      ),
    ),
)
