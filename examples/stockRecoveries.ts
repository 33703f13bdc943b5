/**
 * Complex event processing over real data: the monthly closing prices of five stocks, 2000–2010
 * (examples/data/stocks.ndjson, from the npm package vega-datasets). Per symbol, find each month
 * whose price fell by at least `drop` from the month before, followed by a recovery to the pre-drop
 * price within `months` months; drops that did not recover in time come out as timeouts.
 *
 * Run it: `npx tsx examples/stockRecoveries.ts`
 */
import { fileURLToPath } from 'node:url'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import { boundedOutOfOrder, flatMap, keyBy, match, pattern, pipeline, replay, type Match, type Timeout } from 'weirjs'

export const Stock = t.type({ symbol: t.string, date: t.number, price: t.number })
export type Stock = t.TypeOf<typeof Stock>

export const dataFile = (name: string): string => fileURLToPath(new URL(`./data/${name}`, import.meta.url))

const DAY = 86_400_000

/** What the example reports per drop. */
export type Recovery =
  | { readonly _tag: 'Recovered'; readonly symbol: string; readonly before: Stock; readonly drop: Stock; readonly recovery: Stock }
  | { readonly _tag: 'NotRecovered'; readonly symbol: string; readonly before: Stock; readonly drop: Stock }

export interface RecoveryOptions {
  /** Smallest month-over-month fall, as a fraction of the month before (default 0.15). */
  readonly drop?: number
  /** The recovery must come at most this many months after the month before the drop (default 6). */
  readonly months?: number
}

type Step = 'before' | 'drop' | 'recovery'

/**
 * The pattern: any month (`before`), the very next month lower by `drop` or more (`drop`), then the
 * first later month back at or above `before` (`recovery`), all within `months` months. Prices are
 * dated on the first of each month: `months` calendar months span at most `30.44 * months + 3` days
 * and `months + 1` at least `30.44 * (months + 1) - 3` (month lengths average 30.44 days and any run
 * of them strays from that by under 3), so a bound halfway between, `30.44 * months + 15` days,
 * admits exactly `months` months. (`31 * months` does not: from 50 months on it admits 51.)
 */
export const dropThenRecovery = ({ drop = 0.15, months = 6 }: RecoveryOptions = {}) =>
  pattern<Stock>()
    .begin('before', () => true)
    .next('drop', (s, m) => s.price <= m.before[0].price * (1 - drop))
    .followedBy('recovery', (s, m) => s.price >= m.before[0].price)
    .within(Math.round((30.44 * months + 15) * DAY))

/**
 * Per symbol, the drops that recovered in time and, as timeouts, those that did not. Recoveries do
 * not overlap (`skipPastLastEvent`): a drop inside a recovered episode starts no new one. The rule
 * applies to matches only, so drops that did not recover are each reported, and two of them may
 * share months.
 *
 * @example
 * const { out } = await replay(stockRecoveries({ drop: 0.15, months: 6 }), dataFile('stocks.ndjson'))
 */
export const stockRecoveries = (options: RecoveryOptions = {}) =>
  pipeline({ name: 'stockRecoveries', codec: Stock, eventTime: (s: Stock) => s.date, watermark: boundedOutOfOrder(0) }, (s) =>
    pipe(
      s,
      keyBy((x) => x.symbol),
      match(dropThenRecovery(options), { skip: 'skipPastLastEvent', timeouts: true }),
      // A timeout without a drop is a month still waiting for its successor when the data ends.
      flatMap((r: Match<Stock, Step, string> | Timeout<Stock, Step, string>): Recovery[] =>
        r._tag === 'Match'
          ? [{ _tag: 'Recovered', symbol: r.key, before: r.events.before[0], drop: r.events.drop[0], recovery: r.events.recovery[0] }]
          : r.events.drop.length === 0
            ? []
            : [{ _tag: 'NotRecovered', symbol: r.key, before: r.events.before[0], drop: r.events.drop[0] }],
      ),
    ),
  )

const month = (t: number) => new Date(t).toISOString().slice(0, 7)

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { out, late, deadLetters } = await replay(stockRecoveries({ drop: 0.15, months: 6 }), dataFile('stocks.ndjson'))
  for (const r of out) {
    const fall = `${month(r.before.date)} ${r.before.price} -> ${month(r.drop.date)} ${r.drop.price}`
    console.log(
      r._tag === 'Recovered'
        ? `${r.symbol.padEnd(5)} ${fall}, recovered ${month(r.recovery.date)} at ${r.recovery.price}`
        : `${r.symbol.padEnd(5)} ${fall}, not recovered within 6 months`,
    )
  }
  console.log(`${out.filter((r) => r._tag === 'Recovered').length} recoveries, ${out.filter((r) => r._tag === 'NotRecovered').length} drops without; ${late.length} late, ${deadLetters.length} dead letters`)
}
