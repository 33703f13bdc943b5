/**
 * Rates and rolling averages over real data: the recorded departures of examples/data/flights.ndjson
 * (US DOT on-time records, January–March 2001). A delayed flight is recorded when it actually leaves,
 * so the log is out of order in event time (scheduled departure) by up to the longest delay (8.7 h).
 *
 * - `departuresPerHour`: departures per hour per origin airport, a tumbling-window count;
 * - `rollingDelay`: for each departure, the mean delay of its airport's departures over the trailing
 *   24 hours, a sliding window.
 *
 * Both keep windows open 9 hours after they fire (`allowedLateness`), so a delayed departure still
 * updates its hour: each update re-emits the window, and the last result per window is the final one.
 *
 * Run it: `npx tsx examples/flightRates.ts`
 */
import { fileURLToPath } from 'node:url'
import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, keyBy, mean, pipeline, replay, sliding, tumbling, window, windowId, type Duration, type WindowResult } from 'weirjs'
import { dataFile, Flight } from './data.ts'


/** Watermarks trail the latest scheduled departure by an hour; later departures are kept by allowed lateness. */
const source = { codec: Flight, eventTime: (f: Flight) => f.scheduled, watermark: boundedOutOfOrder('1h') }

/**
 * Departures per hour per origin airport: `{ key: 'ORD', window: { start, end }, value: 7 }`.
 *
 * @example
 * const { out } = await replay(departuresPerHour(), dataFile('flights.ndjson'))
 */
export const departuresPerHour = (allowedLateness: Duration = '9h') =>
  pipeline({ name: 'departuresPerHour', ...source }, (s) =>
    pipe(
      s,
      keyBy((f) => f.origin),
      window(tumbling('1h'), { allowedLateness }),
      aggregate(count),
    ),
  )

/**
 * For each departure, its airport's departures and mean delay (minutes) over the trailing 24 hours:
 * `{ key: 'ORD', window: { start, end }, value: { n: 31, meanDelay: 12.4 } }`.
 *
 * @example
 * const { out } = await replay(rollingDelay(), dataFile('flights.ndjson'))
 */
export const rollingDelay = (allowedLateness: Duration = '9h') =>
  pipeline({ name: 'rollingDelay', ...source }, (s) =>
    pipe(
      s,
      keyBy((f) => f.origin),
      window(sliding('24h'), { allowedLateness }),
      aggregate({ n: count, meanDelay: mean((f: Flight) => f.delay) }),
    ),
  )

/** The last result per window: what a `'final'` consumer ends up with once late updates are in. */
export const finalResults = <V>(out: readonly WindowResult<string, V>[]): Map<string, WindowResult<string, V>> => {
  const m = new Map<string, WindowResult<string, V>>()
  for (const r of out) m.set(windowId(r.key, r.window), r)
  return m
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const log = dataFile('flights.ndjson')
  const hourly = await replay(departuresPerHour(), log)
  const hours = [...finalResults(hourly.out).values()].sort((a, b) => b.value - a.value || a.window.start - b.window.start)
  console.log(`departures per hour: ${hours.length} airport-hours, ${hourly.out.length} results (${hourly.out.length - hours.length} late updates)`)
  for (const h of hours.slice(0, 5)) console.log(`  ${h.key} ${new Date(h.window.start).toISOString().slice(0, 16)}Z  ${h.value} departures`)

  const rolling = await replay(rollingDelay(), log)
  const worst = [...finalResults(rolling.out).values()].filter((r) => r.value.n >= 20).sort((a, b) => b.value.meanDelay - a.value.meanDelay)
  console.log(`rolling 24 h mean delay (windows with at least 20 departures), worst:`)
  for (const r of worst.slice(0, 5))
    console.log(`  ${r.key} up to ${new Date(r.window.end - 1).toISOString().slice(0, 16)}Z  ${r.value.meanDelay.toFixed(1)} min over ${r.value.n}`)
  console.log(`${hourly.late.length + rolling.late.length} late, ${hourly.deadLetters.length + rolling.deadLetters.length} dead letters`)
}
