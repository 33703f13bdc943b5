import type { Subscriber, Subscription } from 'rxjs'
import type { SourceRecord } from '../dsl/element.ts'
import { sourceNames, type Pipeline } from '../dsl/pipeline.ts'
import type { MachineRegistry, RunContext } from '../operators/core/context.ts'
import { FailFastError } from '../operators/core/context.ts'
import { VirtualClock } from './VirtualClock.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import { readLog, type LogSource } from './log.ts'
import { VirtualLogFeeder } from './VirtualLogFeeder.ts'
import { runLoop } from './runLoop.ts'
import { Collector, type CollectorOptions, type RunResult } from './result.ts'
import { openPipeline } from './open.ts'
import { stateOf, type StateAt } from './inspect.ts'

/** Where a replay has got to, reported after each batch of records. */
export interface ReplayProgress {
  /** Bytes of the log file read so far (0 for iterable logs). */
  readonly bytesRead: number
  /** Records read so far (`metrics.eventsIn`). */
  readonly eventsIn: number
}

/** Options of `replay`. */
export interface ReplayOptions<O> extends CollectorOptions<O> {
  /** Fail on the first dead letter or late event (the promise rejects with a `FailFastError`). */
  readonly failFast?: boolean
  /** Credit window between the log and the pipeline's async stages (default 1024). */
  readonly highWaterMark?: number
  /**
   * The virtual clock to run on. By default a new one starting at the first record's arrival, so
   * that idle timers do not replay the years between the epoch and the log.
   */
  readonly clock?: VirtualClock
  /** Replay only the records of this topic (the others are skipped and not counted). */
  readonly topic?: string
  /** Called after each batch of records, e.g. to draw a progress bar. */
  readonly onProgress?: (p: ReplayProgress) => void
  /** Records per batch for iterable logs (default 1024, see `readLog`). */
  readonly batchSize?: number
  /** Bytes per read for log files (default 256 KiB, see `readLog`). */
  readonly chunkSize?: number
  /** The longest line read, in bytes (default 16 MiB): a longer one is a `'too-long'` dead letter (see `readLog`). */
  readonly maxLineBytes?: number
  /** Follow a log file that is still being written, until `signal` aborts (see `readLog`). */
  readonly follow?: { readonly signal: AbortSignal; readonly pollMs?: number }
  /**
   * Log offsets at which to read every stateful stage's state (see `StateAt`): for each, the state
   * after that record has gone in (and async work for it has finished), before the next one. An
   * offset past the log's last record gives the state after the whole log, before the end of input.
   */
  readonly inspect?: readonly number[]
}

/** What `replay` returns: the run's result, and the states asked for with `inspect`, in offset order. */
export type ReplayResult<O> = RunResult<O> & { readonly states?: readonly StateAt[] }

/**
 * Replays a recorded log through a pipeline in virtual time and returns its outputs, late events,
 * dead letters and metrics.
 *
 * For each record, in log order: the virtual clock advances to its `arrival`, firing every timer
 * due at or before it (idle watermarks, `microbatch`, RxJS's `bufferTime`...), then the record enters
 * the pipeline with processing time `arrival` and position `offset`. A malformed line becomes a
 * `'parse'` dead letter and the replay goes on. The pull respects the pipeline's credit: while async
 * stages hold `highWaterMark` units the next record waits for them. At the end the input completes
 * (the `+Infinity` watermark fires every window), the remaining timers run and async stages drain.
 *
 * Nothing waits on real time, so a replay runs as fast as the CPU allows, and the same log and
 * pipeline give the same `out`, `late` and `deadLetters`, byte for byte, on every run.
 *
 * @example
 * const { out, deadLetters, metrics } = await replay(delays, 'examples/data/flights.ndjson')
 */
export async function replay<I, O, K>(p: Pipeline<I, O, K>, log: LogSource, opts: ReplayOptions<O> = {}): Promise<ReplayResult<O>> {
  const collector = new Collector<O>(opts)
  const { onProgress, failFast = false } = opts
  let bytesRead = 0
  const reader = readLog(log, {
    batchSize: opts.batchSize,
    chunkSize: opts.chunkSize,
    maxLineBytes: opts.maxLineBytes,
    follow: opts.follow,
    onProgress: (b) => {
      bytesRead = b
    },
  })

  const slot = reusableRecord()
  // The pipeline is subscribed at the first record, so that a default clock can start there.
  let ctx: RunContext | undefined
  let sink: Subscriber<SourceRecord> | undefined
  let subscription: Subscription | undefined
  let registered: MachineRegistry | undefined
  const inspecting = inspectOffsets(opts.inspect)
  const states: StateAt[] = []
  /** Reads the state for every offset asked for below `before`, once async work has finished. */
  const inspectBelow = async (before: number) => {
    if (collector.settled) return
    if (ctx!.credit.outstanding > 0) await ctx!.credit.drained()
    while (inspecting.length > 0 && inspecting[0] < before) states.push(stateOf(p, registered!.machines, registered!.stages, inspecting.shift()!))
  }
  const feeder = new VirtualLogFeeder(reader[Symbol.asyncIterator](), opts.topic, {
    record(e, event) {
      collector.eventsIn++
      sink!.next(slot.fill(event, e.arrival, e.offset))
    },
    reject(d) {
      collector.eventsIn++
      if (ctx !== undefined) ctx.deadLetter(d)
      else if (failFast) throw new FailFastError(d)
      else collector.deadLetter(d)
    },
    skip() {
      collector.skipped++
    },
    progress() {
      if (onProgress !== undefined) onProgress({ bytesRead, eventsIn: collector.eventsIn })
    },
    inspecting,
    inspectBelow,
  }, collector, sourceNames(p))

  try {
    const first = await feeder.first()
    const clock = opts.clock ?? new VirtualClock(first?.arrival ?? 0)
    ctx = collector.context({ scheduler: clock, highWaterMark: opts.highWaterMark, failFast })
    const opened = openPipeline(p, ctx, collector, { watermarks: opts.onWatermark !== undefined })
    sink = opened.input
    subscription = opened.subscription
    registered = opened.machines
    feeder.runOn(clock)
    const credit = ctx.credit
    // `run`'s loop, without checkpoints (so it never cuts) or handoff: the feeder lets async work
    // land and moves the clock before each record.
    await runLoop(feeder, { credit, collector: collector as Collector<unknown>, checkpoints: undefined, cut: noCut, handoff: undefined })
    if (inspecting.length > 0) await inspectBelow(Number.POSITIVE_INFINITY)
    if (!collector.settled) {
      sink.complete()
      while (!collector.settled) {
        if (clock.pending > 0) clock.flush()
        else if (credit.outstanding > 0) await credit.drained()
        // Nothing left in virtual time and no credit held: work outside both (a promise in a user
        // stage) is still running; yield to the event loop until it finishes.
        else await Promise.race([collector.done, new Promise((resolve) => setImmediate(resolve))])
      }
      if (!collector.failed) await credit.drained()
    }
  } finally {
    await feeder.close()
    subscription?.unsubscribe()
  }
  if (collector.failed) throw collector.failure
  return opts.inspect === undefined ? collector.result() : { ...collector.result(), states }
}

/** A replay takes no checkpoints, so its loop never cuts one. */
const noCut = async (): Promise<void> => {}

/** The offsets `inspect` asks for, sorted and without repeats; a non-offset is a `RangeError`. */
function inspectOffsets(offsets: readonly number[] | undefined): number[] {
  if (offsets === undefined) return []
  for (const o of offsets)
    if (!Number.isSafeInteger(o) || o < 0) throw new RangeError(`replay: inspect offsets are log offsets (integers from 0), got ${String(o)}`)
  return [...new Set(offsets)].sort((a, b) => a - b)
}
