import { Observable } from 'rxjs'
import { compileElements, makeContext, type Batch, type Pipeline } from 'weirjs'
import { NexmarkGenerator } from '../examples/nexmark/generator.ts'
import type { NexmarkEvent } from '../examples/nexmark/model.ts'
import { queries } from '../examples/nexmark/queries.ts'
import { best, pairedRatios, timeInProcesses, type Report } from './util.ts'

/** Events per run: Beam's default rate (10,000 events/s of event time), so 100 s, ten 10 s windows. */
const N = 1_000_000
const ROUNDS = 3

/** Generated events in batches of 1,024, as `run` hands arrays over: made on the fly, the same for every contender. */
const batches = (n: number) =>
  new Observable<Batch>((s) => {
    const g = new NexmarkGenerator()
    for (let i = 0; i < n; i += 1024) {
      const values: NexmarkEvent[] = []
      for (let j = i, end = Math.min(n, i + 1024); j < end; j++) values.push(g.eventAt(j))
      s.next({ _tag: 'Batch', values, time: Number.NaN, pos: i })
    }
    s.complete()
  })

/** Runs one query over `n` generated events, synchronously; returns its number of results. */
const runQuery = (q: () => Pipeline<NexmarkEvent, unknown, unknown>, n: number): number => {
  let results = 0
  batches(n)
    .pipe(compileElements(q(), makeContext(), { watermarks: false }))
    .subscribe(() => results++)
  return results
}

/** Generating the events alone (no pipeline): the part of every contender's time the queries share. */
const generateOnly = (n: number): number => {
  let events = 0
  batches(n).subscribe((b) => (events += b.values.length))
  return events
}

type Name = keyof typeof queries
const names = Object.keys(queries) as Name[]

/** What `timeInProcesses` runs, each in a process of its own, on `n` events. */
export const contenders: Record<string, (n: number) => unknown> = {
  generate: generateOnly,
  ...Object.fromEntries(names.map((k) => [k, (n: number) => runQuery(queries[k] as () => Pipeline<NexmarkEvent, unknown, unknown>, n)])),
}

export default async function (r: Report): Promise<void> {
  r.section(`nexmark: ${N.toLocaleString('en-US')} generated events per query (examples/nexmark), CPU time, one core`)
  // CPU time in fresh processes, in turns: a shared machine stretches wall times.
  const t = timeInProcesses('nexmark.bench.ts', ['generate', ...names] as const, N, ROUNDS, 'cpu')
  const gen = best(t.generate)
  r.figure('generator alone: events per CPU second', N / (gen / 1000), 'events/s')
  for (const k of names) {
    const results = runQuery(queries[k] as () => Pipeline<NexmarkEvent, unknown, unknown>, N)
    r.figure(`${k}: results`, results, 'results')
    r.figure(`${k}: events per CPU second, generation included`, N / (best(t[k]) / 1000), 'events/s')
    // The query's own cost: what Flink's per-core figures measure (its datagen source aside).
    r.figure(`${k}: events per CPU second, generation subtracted`, N / ((best(t[k]) - gen) / 1000), 'events/s')
  }
  for (const k of names) if (k !== 'q0') r.ratios(`${k} time / q0 (pass-through) time`, pairedRatios(t[k], t.q0))
}
