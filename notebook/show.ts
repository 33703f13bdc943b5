import type { RunResult } from '../harness/result.ts'
import type { DeadLetter, Late } from '../dsl/sides.ts'
import { drawChart, isChartSpec } from './chart.ts'
import { cellText, formatTable, isoTime, type TableOptions } from './table.ts'

/** Options of `show`. */
export interface ShowOptions extends TableOptions {
  /** Where to write (default: the process's standard output); its `columns` sets the default width. */
  readonly out?: { write(s: string): unknown; readonly columns?: number }
  /** Lines of a chart's plot (default 12). */
  readonly height?: number
}

/** How many late events and dead letters are quoted under a run's table. */
const SAMPLES = 3

/**
 * Prints results in the terminal, fitted to its width: an array of results as a table (see
 * `formatTable`), a run's result (`RunResult`) as its outputs' table followed by its counts, late
 * events by stage and dead letters by reason with the first of each, and a `chart` spec as a Unicode
 * chart. Returns the text it printed.
 *
 * @example
 * show(await replay(weeklyDelays, 'examples/data/flights.ndjson'))
 * show(chart(out, { x: 'window.start', y: 'value.n', color: 'key' }))
 */
export function show(x: unknown, options: ShowOptions = {}): string {
  const out = options.out ?? process.stdout
  const width = options.width ?? (out.columns !== undefined && out.columns > 0 ? out.columns : 100)
  const text = isChartSpec(x)
    ? drawChart(x, { width, height: options.height })
    : isRunResult(x)
      ? runText(x, { ...options, width })
      : formatTable(Array.isArray(x) ? x : [x], { ...options, width })
  out.write(text + '\n')
  return text
}

const isRunResult = (x: unknown): x is RunResult<unknown> =>
  typeof x === 'object' && x !== null && Array.isArray((x as RunResult<unknown>).out) && typeof (x as RunResult<unknown>).metrics === 'object'

function runText(r: RunResult<unknown>, options: TableOptions): string {
  const m = r.metrics
  const lines = [formatTable(r.out, { ...options, total: Math.max(m.eventsOut, r.out.length) })]
  lines.push(
    `${n(m.eventsIn)} events in, ${n(m.eventsOut)} out, ${n(m.late)} late, ${n(m.deadLetters)} dead letter${m.deadLetters === 1 ? '' : 's'}` +
      `${m.skipped > 0 ? `, ${n(m.skipped)} skipped` : ''}; ${n(Math.round(m.eventsPerSecond))} events/s (${n(Math.round(m.wallMs))} ms)`,
  )
  if (m.late > 0) lines.push(`late by stage: ${tally(r.late, (l) => l.stage)}${kept(r.late.length, m.late)}`, ...r.late.slice(0, SAMPLES).map(lateLine))
  if (m.deadLetters > 0)
    lines.push(`dead letters by reason: ${tally(r.deadLetters, (d) => d.reason)}${kept(r.deadLetters.length, m.deadLetters)}`, ...r.deadLetters.slice(0, SAMPLES).map(deadLine))
  return lines.join('\n')
}

const tally = <T>(items: readonly T[], by: (t: T) => string): string => {
  const counts = new Map<string, number>()
  for (const it of items) counts.set(by(it), (counts.get(by(it)) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${k} ${n(c)}`).join(', ')
}

const kept = (held: number, total: number): string => (held < total ? ` (of the ${n(held)} kept; ${n(total)} in all)` : '')

const lateLine = (l: Late): string =>
  `  late at offset ${l.pos} in ${l.stage}: time ${isoTime(l.time)} < watermark ${isoTime(l.watermark)}${l.key === undefined ? '' : `, key ${cellText(l.key)}`}`

const deadLine = (d: DeadLetter): string => `  dead letter (${d.reason}) at ${d.stage === 'source' ? 'line' : 'offset'} ${d.pos} in ${d.stage}: ${cellText(d.message).slice(0, 160)}`

const n = (x: number): string => x.toLocaleString('en-US')
