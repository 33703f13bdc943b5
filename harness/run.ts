import { isObservable, type SchedulerLike } from 'rxjs'
import { sourceNames, type MultiSourcePipeline, type Pipeline } from '../dsl/pipeline.ts'
import type { Sources } from '../dsl/sources.ts'
import { isLogFileSource, isPulledSource, type Source } from '../connectors/sources.ts'
import { isStatelessPipeline } from '../dsl/plan.ts'
import type { CheckpointOptions } from './checkpoint.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import { inputIdentity, inputsIdentity } from './inputIdentity.ts'
import { checkCheckpointOptions, Checkpoints } from './cut.ts'
import type { Sink } from '../connectors/sinks.ts'
import { SinkQueue } from './SinkQueue.ts'
import { Collector, type CollectorOptions, type RunResult } from './result.ts'
import { openPipeline } from './open.ts'
import { feederOf, type Feeder, type FeederOptions } from './feeders.ts'
import { MultiFeeder, routedIntake } from './multiFeeder.ts'
import { intakeOf, runLoop } from './runLoop.ts'

export interface RunOptions<O> extends Omit<CollectorOptions<O>, 'onOutput'> {
  /** Where outputs go; without one they are kept in `out`. With one, `out` stays empty unless `keepOutput`. */
  readonly sink?: Sink<O>
  /** Fail on the first dead letter or late event (the promise rejects with a `FailFastError`). */
  readonly failFast?: boolean
  /** Events in flight in async stages and the sink before the source is held back (default 1024). */
  readonly highWaterMark?: number
  /** Processing time for idle timeouts and microbatches (default: RxJS's asyncScheduler, real time). */
  readonly scheduler?: SchedulerLike
  /**
   * Take checkpoints (operator state + source offset) and restore from the latest one at start:
   * a replayable source skips the records the checkpoint covers, a pulled source re-acknowledges them.
   * Not for an Observable source (it cannot be paused or skipped): `run` rejects that.
   */
  readonly checkpoint?: CheckpointOptions
  /**
   * Hands the work over to another process (a broker source's partition moving to another member):
   * once aborted, the run takes a checkpoint at the next record boundary and stops without ending
   * its input, so no end-of-input watermark fires windows early; what it holds is in the checkpoint
   * for the next owner. Needs `checkpoint` and a pulled (broker) source, or for a pipeline with
   * several sources, one per source.
   */
  readonly handoff?: AbortSignal
}

/** The inputs of a multi-source pipeline's run: one source per named source (see `pipeline`). */
export type SourceInputs<S extends Sources> = { readonly [N in keyof S]: Source<unknown> }

/** A path where a source goes is a compile error, with the fix as the expected type. */
type NotAPath<S> = S extends string ? 'run takes a source, not a path: run(p, fromLog(path)) replays a recorded log' : S

/**
 * Runs a pipeline over a source in processing time and returns its outputs, late events, dead
 * letters and metrics. Pulled sources (arrays, iterables, async iterables, logs) are read only while
 * the pipeline has credit: async stages and an async sink hold it until they finish, so a fast
 * source feeding a slow sink holds steady memory.
 *
 * Broker sources (`PulledSource`: Redis Streams, PostgreSQL CDC) are asked for at most as many
 * records as there is credit for, and each record is acknowledged only once nothing derived from it
 * can be lost (at-least-once):
 * - stateless pipeline (fused map/filter/flatMap/keyBy/tap and merges only), no checkpoints: once
 *   the sink has written, and flushed, every output emitted up to that record;
 * - with `checkpoint`: when a checkpoint covering it is saved (the checkpoint lists those tokens and
 *   re-acknowledges them on restore, so a crash between the save and the acknowledgement cannot
 *   make the broker redeliver into restored state); when the source stops, a last checkpoint is
 *   taken before the end-of-input watermark, so the next run resumes exactly there;
 * - stateful pipeline without checkpoints: only at the end of the run, after the sink is closed
 *   (state is in memory; a crash loses it, and the broker redelivers everything unacknowledged).
 *
 * Checkpoints are aligned: every N records or T of processing time the source is paused, async
 * stages and the sink drain, then every stateful machine's `snapshot()` and the source offset are
 * saved. Restoring from one and finishing gives the same output as an uninterrupted run (outputs
 * written after the checkpoint may be written again: use an idempotent sink, or truncate to
 * `Checkpoint.outputs`). Every stage that holds events between records is in the checkpoint:
 * windows, joins, patterns, tables, `microbatch`'s open block.
 *
 * @example
 * const { out, deadLetters } = await run(bigFares, trips)
 * await run(counts, redisSource(redis, { topics: ['flights'], group: 'g', consumer: 'w1' }),
 *   { sink, checkpoint: { store: fileCheckpoints('cp.json'), everyMs: 5000 } })
 */
export async function run<S extends Sources, O, K>(p: MultiSourcePipeline<S, O, K>, inputs: SourceInputs<S> | Source<unknown>, opts?: RunOptions<O>): Promise<RunResult<O>>
export async function run<I, O, K, S extends Source<unknown>>(p: Pipeline<I, O, K>, given: NotAPath<S>, opts?: RunOptions<O>): Promise<RunResult<O>>
export async function run<O>(p: Pipeline<any, O, any>, given: unknown, opts: RunOptions<O> = {}): Promise<RunResult<O>> {
  // A string is an Iterable (of its characters): a path here would be a run of one-letter events.
  if (typeof given === 'string')
    throw new TypeError(`run: got the string ${JSON.stringify(given)} where a source goes; for a recorded log, use run(p, fromLog(${JSON.stringify(given)}))`)
  const names = sourceNames(p)
  const inputs = names === undefined ? undefined : inputsOf(names, given)
  const source = given as Source<unknown>
  const { sink } = opts
  const cp = opts.checkpoint
  if (cp !== undefined) checkCheckpointOptions(cp)
  // A checkpoint is taken with the source paused between two records, and a restore skips what it
  // covers; an Observable pushes and can do neither, so it would be restored and then counted again.
  const pulled = inputs === undefined ? isPulledSource(source) : Object.values(inputs).every(isPulledSource)
  if (opts.handoff !== undefined && (cp === undefined || !pulled))
    throw new TypeError('run: handoff needs checkpoint and a pulled (broker) source, one per source for several: the work handed over is in the checkpoint')
  if (cp !== undefined && isObservable(source))
    throw new TypeError('run: checkpoints need a source that run pulls (an array, an iterable, a log, a broker source); an Observable pushes its values, so it cannot be paused for a checkpoint or skip what one covers')
  let sinkQueue: SinkQueue<O> | undefined
  let outputs = 0
  const collector = new Collector<O>({
    ...opts,
    keepOutput: opts.keepOutput ?? sink === undefined,
    onOutput: (o) => {
      outputs++
      if (sinkQueue !== undefined) sinkQueue.push(o)
    },
  })
  const ctx = collector.context({ scheduler: opts.scheduler, highWaterMark: opts.highWaterMark, failFast: opts.failFast })
  if (sink) sinkQueue = new SinkQueue(sink, ctx.credit, (e) => collector.error(e))
  const { input, subscription, machines } = openPipeline(p, ctx, collector, { watermarks: opts.onWatermark !== undefined })
  const credit = ctx.credit
  const fo: FeederOptions = {
    intake: intakeOf(input, collector as Collector<unknown>, ctx),
    // Acknowledgement rule (see above): at a checkpoint, after the sink's writes (stateless
    // pipelines), or at the end of the run.
    acks: cp !== undefined ? 'checkpoint' : isStatelessPipeline(p) ? 'sink' : 'end',
    sinkQueue: sinkQueue as SinkQueue<unknown> | undefined,
    route: names,
  }
  const feeder: Feeder =
    inputs === undefined
      ? feederOf(source, fo)
      : new MultiFeeder(Object.entries(inputs).map(([name, s]) => ({ name, feeder: feederOf(s, { ...fo, intake: routedIntake(fo.intake, name), route: undefined }) })))
  const checkpoints =
    cp === undefined
      ? undefined
      : new Checkpoints(cp, { name: p.name, shapes: stateShapes(p), source, input: inputs === undefined ? inputIdentity(source) : inputsIdentity(inputs) }, machines.machines, () => ctx.scheduler.now())
  /** Aligned: async stages and the sink drain, then the machines' state is saved with the offset and the tokens it covers. */
  const cut = async () => {
    await credit.drained()
    if (sinkQueue !== undefined) await sinkQueue.flushThrough(sinkQueue.enqueued)
    if (collector.settled) return
    const offsets = feeder instanceof MultiFeeder ? feeder.offsets() : undefined
    await checkpoints!.take({ offset: feeder.consumed, offsets, outputs, acked: feeder.covered() })
    await feeder.saved()
  }

  try {
    // Not awaited without checkpoints: an Observable source (a Subject) is subscribed before `run` returns.
    const saved = checkpoints === undefined ? undefined : await checkpoints.restore()
    if (saved !== undefined) {
      outputs = saved.outputs
      await feeder.resume(saved)
    }
    const end = await runLoop(feeder, { credit, collector: collector as Collector<unknown>, checkpoints, cut, handoff: opts.handoff })
    // A run handed over has written and checkpointed everything so far; its output never ends.
    if (end === 'handedOff') {
      if (collector.failed) throw collector.failure
    } else {
      input.complete()
      await collector.done
    }
    await credit.drained()
    await sinkQueue?.close()
    await feeder.finish()
  } catch (e) {
    // A fail-fast dead letter thrown while reading, the pipeline's own failure, or the sink's.
    subscription.unsubscribe()
    await sinkQueue?.abandon()
    await feeder.close()
    throw collector.failed ? collector.failure : e
  }
  subscription.unsubscribe()
  const sourceMetrics = await feeder.metrics()
  await feeder.close()
  const result = collector.result()
  return sourceMetrics === undefined ? result : { ...result, metrics: { ...result.metrics, source: sourceMetrics } }
}


/**
 * A multi-source run's inputs by source name, checked against its sources; undefined for one
 * recorded log, which routes its records by topic instead.
 */
function inputsOf(names: ReadonlySet<string>, given: unknown): Readonly<Record<string, Source<unknown>>> | undefined {
  if (isLogFileSource(given)) return undefined
  const list = [...names].join(', ')
  if (typeof given !== 'object' || given === null || Array.isArray(given) || isPulledSource(given) || isObservable(given) || Symbol.iterator in given || Symbol.asyncIterator in given)
    throw new TypeError(`run: this pipeline reads several sources (${list}): give one input per source, run(p, { ${[...names].map((n) => `${n}: ...`).join(', ')} }), or one recorded log routed by topic`)
  const inputs = given as Record<string, Source<unknown>>
  for (const name of Object.keys(inputs)) if (!names.has(name)) throw new TypeError(`run: input '${name}' names no source of this pipeline (its sources: ${list})`)
  for (const name of names) {
    const s = inputs[name]
    if (s === undefined) throw new TypeError(`run: no input for source '${name}' (its sources: ${list})`)
    // One loop interleaves the inputs a record at a time; an Observable pushes all of its own at once.
    if (isObservable(s)) throw new TypeError(`run: input '${name}' is an Observable; a multi-source run pulls its inputs (arrays, iterables, logs, broker sources) to interleave them`)
  }
  return inputs
}
