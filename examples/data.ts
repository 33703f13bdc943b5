/** What the examples share: the bundled data files and the codec of a recorded flight. */
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'

/** The absolute path of a bundled data file, e.g. `dataFile('flights.ndjson')`. */
export const dataFile = (name: string): string => fileURLToPath(new URL(`./data/${name}`, import.meta.url))

/** A recorded US flight (examples/data/flights.ndjson); `scheduled` is the event time, in ms. */
export const Flight = t.type(
  {
    id: t.number,
    scheduled: t.number,
    delay: t.number,
    distance: t.number,
    origin: t.string,
    destination: t.string,
  },
  'Flight',
)
export type Flight = t.TypeOf<typeof Flight>
