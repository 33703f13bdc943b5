import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compileElements } from '../../dsl/compile.ts'
import type { Data, Element } from '../../dsl/element.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { DeadLetter, Late } from '../../dsl/sides.ts'
import { keyBy } from '../../dsl/stages.ts'
import type { Stream } from '../../dsl/stream.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { makeContext } from '../core/context.ts'
import type { Aggregator } from '../../dsl/aggregations.ts'

/** A test event: key, event time, a number, and a unique id (its position in the log). */
export interface Ev {
  readonly k: string
  readonly t: number
  readonly v: number
  readonly id: number
}

/** What a run gives: every output element (data and watermarks, in order), late events, dead letters. */
export interface Run<O> {
  readonly out: Element<O>[]
  readonly late: Late[]
  readonly dead: DeadLetter[]
}

/**
 * Runs `stage` over `events` keyed by `k` with event time `t` and `boundedOutOfOrder(d)`, through
 * the real compile path (ingest, watermarks, end of input).
 */
export async function runKeyed<O>(
  events: readonly Ev[],
  d: number,
  stage: (s: Stream<Ev, string>) => Stream<O, unknown>,
): Promise<Run<O>> {
  const late: Late[] = []
  const dead: DeadLetter[] = []
  const p = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(d) }, (s) =>
    pipe(
      s,
      keyBy((e: Ev) => e.k),
      stage,
    ),
  )
  const ctx = makeContext({ onLate: (l) => late.push(l), onDeadLetter: (x) => dead.push(x) })
  const recs: Data<unknown>[] = events.map((value, i) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos: i }))
  const out = (await lastValueFrom(from(recs).pipe(compileElements(p, ctx), toArray()))) as Element<O>[]
  return { out, late, dead }
}

/** The data values of a run's output, in order. */
export const values = <O>(r: Run<O>): O[] => r.out.flatMap((e) => (e._tag === 'Data' ? [e.value] : []))

/** Builds events from `[key, time, value?]` triples, ids in order. */
export const evs = (xs: readonly (readonly [string, number, number?])[]): Ev[] =>
  xs.map(([k, t, v], id) => ({ k, t, v: v ?? 1, id }))

/**
 * A user aggregator of event ids that holds at most `n`: its `add` refuses (throws) when the window is
 * full, changing nothing (it returns a new accumulator), as the contract asks.
 */
export const atMost = (n: number): Aggregator<Ev, number[], number[]> => ({
  init: () => [],
  add: (acc, e) => {
    if (acc.length >= n) throw new Error('full')
    return [...acc, e.id]
  },
  merge: (x, y) => [...x, ...y],
  result: (acc) => acc,
})

/** A window result as `[start, end, value]`. */
export const summary = (r: { window: { start: number; end: number }; value: unknown }): unknown[] => [r.window.start, r.window.end, r.value]
