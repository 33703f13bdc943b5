import { pipe } from 'fp-ts/lib/function.js'
import { windowJoin } from '../dsl/joins.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { source } from '../dsl/sources.ts'
import type { Stream } from '../dsl/stream.ts'
import { filter, keyBy } from '../dsl/stages.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { run } from '../harness/run.ts'
import { best, pairedRatios, timeInProcesses, type Report } from './util.ts'

/**
 * Several named sources against one: the same outer window join, over two inputs that `run` reads
 * in turns (`harness/multiFeeder.ts`, a `NamedSource` stage per input), and over one input of the
 * same events tagged with their side, split by two filters. The events and their interleaving are
 * the same (the multi-source loop reads the input with fewer records read, the first on a tie: left,
 * right, left, ...), and so are the results.
 */

const PER_SIDE = 500_000
const KEYS = 10_000
const WITHIN = 5_000
const JITTER = 100

type Ev = { side: 0 | 1; key: number; t: number }

/** The i-th event of the two interleaved streams, as in joins.bench.ts. */
const eventAt = (i: number): Ev => ({ side: (i & 1) as 0 | 1, key: ((i >> 1) * 7919) % KEYS, t: (i >> 1) + ((i * 31) % JITTER) })

/** One side's events, made as they are read. */
function* side(s: 0 | 1, perSide: number): Iterable<Ev> {
  for (let j = 0; j < perSide; j++) yield eventAt(2 * j + s)
}

function* tagged(n: number): Iterable<Ev> {
  for (let i = 0; i < n; i++) yield eventAt(i)
}

const at = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(JITTER) }

const twoSources = pipeline({ sources: { left: source(at), right: source(at) } }, ({ left, right }) =>
  pipe(left, keyBy((e) => e.key), windowJoin(pipe(right, keyBy((e) => e.key)), { within: WITHIN, type: 'outer' })),
)

const oneSource = pipeline(at, (s: Stream<Ev>) =>
  pipe(
    s,
    filter((e) => e.side === 0),
    keyBy((e) => e.key),
    windowJoin(pipe(s, filter((e) => e.side === 1), keyBy((e) => e.key)), { within: WITHIN, type: 'outer' }),
  ),
)

const outputs = async (result: Promise<{ readonly metrics: { readonly eventsOut: number } }>): Promise<number> => (await result).metrics.eventsOut

/** What `timeInProcesses` runs, each in a process of its own, on `n` events in all. */
export const contenders: Record<string, (n: number) => unknown> = {
  twoSources: (n) => outputs(run(twoSources, { left: side(0, n >> 1), right: side(1, n >> 1) }, { keepOutput: false })),
  oneSource: (n) => outputs(run(oneSource, tagged(n), { keepOutput: false })),
}

export default async function (r: Report): Promise<void> {
  const n = 2 * PER_SIDE
  r.section(`sources: window join of two named sources against one source of tagged events, 2 x ${PER_SIDE.toLocaleString('en-US')} events, run()`)
  const t = timeInProcesses('sources.bench.ts', ['twoSources', 'oneSource'] as const, n, 7, 'cpu')
  const two = await contenders.twoSources(n)
  const one = await contenders.oneSource(n)
  if (two !== one) throw new Error(`sources bench: the two forms gave ${String(two)} and ${String(one)} results`)
  r.figure('two named sources (run reads each in turn): events per CPU second', n / (best(t.twoSources) / 1000), 'events/s')
  r.figure('one source of tagged events, two filters: events per CPU second', n / (best(t.oneSource) / 1000), 'events/s')
  r.figure('results (either form)', two as number, 'results')
  r.ratios('two sources time / one tagged source time', pairedRatios(t.twoSources, t.oneSource))
}
