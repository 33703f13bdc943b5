import type { Subscriber } from 'rxjs'
import type { SourceRecord } from '../dsl/element.ts'
import type { DeadLetter } from '../dsl/sides.ts'
import type { Credit } from '../operators/core/Credit.ts'
import type { RunContext } from '../operators/core/context.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import type { Checkpoints } from './cut.ts'
import type { Feeder, Intake } from './feeders.ts'
import type { Collector } from './result.ts'

/** What the loop needs of the run besides its feeder. */
export interface LoopSteps {
  readonly credit: Credit
  readonly collector: Collector<unknown>
  /** The run's checkpoints, if it takes any. */
  readonly checkpoints: Checkpoints | undefined
  /** Drains the run and saves a checkpoint of it (see `run`). */
  cut(): Promise<void>
  /** Once aborted, the loop cuts a checkpoint at the next boundary and stops without ending the input. */
  readonly handoff: AbortSignal | undefined
}

/** Why the loop stopped: its input ended, the run settled (failed or finished early), or it was handed off. */
export type LoopEnd = 'ended' | 'settled' | 'handedOff'

/**
 * `run`'s one loop, the same for every kind of source: between records, it waits for credit, cuts
 * a checkpoint when one is due and the source is at a boundary, and stops once the run has
 * settled; the feeder reads its source and sends records in. Returns why it stopped; it never ends
 * the input itself (a run handed off must not).
 */
export async function runLoop(feeder: Feeder, s: LoopSteps): Promise<LoopEnd> {
  const { credit, collector, checkpoints } = s
  for (;;) {
    if (collector.settled) return 'settled'
    if (s.handoff?.aborted === true && feeder.atBoundary) {
      await s.cut()
      return 'handedOff'
    }
    feeder.check()
    // Credit is checked before the source is read: a source read while the window is full would
    // hold a record (from a broker, a socket) the pipeline has no room for.
    if (!credit.available) await credit.whenAvailable()
    if (collector.settled) return 'settled'
    // Not awaited when it need not be: an await per record would slow every run down.
    let more = feeder.ready()
    if (more !== true && more !== false) more = await more
    if (!more) return 'ended'
    // A checkpoint only between records that exist (the record `ready` found is not in it).
    if (checkpoints !== undefined && feeder.atBoundary && checkpoints.due(feeder.consumed)) await s.cut()
    if (collector.settled) return 'settled'
    more = feeder.feed(credit, checkpoints === undefined ? Number.POSITIVE_INFINITY : checkpoints.room(feeder.consumed))
    if (more !== true && more !== false) more = await more
    if (!more) {
      // A broker source that stops (idle, aborted) leaves a checkpoint covering all it read: the
      // next run restores it and resumes where the group left off.
      if (checkpoints !== undefined && feeder.stops && feeder.atBoundary && checkpoints.behind(feeder.consumed)) await s.cut()
      return 'ended'
    }
  }
}

/** The intake of a pipeline opened with `openPipeline`: records in, counted by the collector. */
export function intakeOf(input: Subscriber<SourceRecord>, collector: Collector<unknown>, ctx: RunContext): Intake {
  const slot = reusableRecord()
  return {
    record(value, pos) {
      collector.eventsIn++
      input.next(slot.fill(value, Number.NaN, pos))
    },
    batch(values, pos) {
      collector.eventsIn += values.length
      input.next({ _tag: 'Batch', values, time: Number.NaN, pos })
    },
    reject(d: DeadLetter) {
      collector.eventsIn++
      ctx.deadLetter(d)
    },
    skip() {
      collector.skipped++
    },
    end: () => input.complete(),
    fail: (e) => input.error(e),
    get settled() {
      return collector.settled
    },
    done: collector.done,
  }
}
