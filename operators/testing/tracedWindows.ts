/**
 * A kit for tests that hold two kinds of the same window (a general path and a fast one) equal:
 * each result, late event and dead letter traced as a line, events fed with `boundedOutOfOrder`
 * watermarks as ingest makes them.
 */
import type { WindowSpec } from '../../dsl/windows.ts'
import { count, max, mean, min, sum } from '../../dsl/aggregations.ts'
import { makeContext } from '../core/context.ts'
import { WindowCore, type WindowKind } from '../windows/WindowCore.ts'

export interface Ev {
  readonly k: string
  readonly t: number
  readonly v: number
}

/** Count, sum, min, max and mean of `v`: invertible, associative and neither. */
export const AGG = { n: count, total: sum((e: Ev) => e.v), lo: min((e: Ev) => e.v), hi: max((e: Ev) => e.v), avg: mean((e: Ev) => e.v) }

export type Core = WindowCore<any>

/** A window core of `kind`, tracing results (with their `pos`), late events and dead letters into `out`. */
export function tracedCore(kind: WindowKind<any>, spec: WindowSpec, out: string[]): Core {
  const ctx = makeContext({ onLate: (l) => out.push(`late ${l.pos}`), onDeadLetter: (x) => out.push(`dead ${x.pos}`) })
  return new WindowCore(kind, spec, ctx, (r) => out.push(JSON.stringify(r)))
}

/** Feeds events with `boundedOutOfOrder(d)` watermarks, as ingest does; `from..to` of the log only. */
export function feed(core: Core, events: readonly Ev[], d: number, from = 0, to = events.length, maxSeen = Number.NEGATIVE_INFINITY): number {
  for (let i = from; i < to; i++) {
    const e = events[i]
    core.push(e, e.t, e.k, i)
    if (e.t > maxSeen) {
      maxSeen = e.t
      if (maxSeen - d > core.W) core.watermark(maxSeen - d)
    }
  }
  return maxSeen
}

/** Feeds all of `events` into `core`, then the end of input; returns the trace. */
export function traceAll(core: Core, out: string[], events: readonly Ev[], d: number): string[] {
  feed(core, events, d)
  core.watermark(Number.POSITIVE_INFINITY)
  return out
}
