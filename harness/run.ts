import { Observable, isObservable, type Subscriber, type SchedulerLike } from 'rxjs'
import type { SourceRecord } from '../dsl/element.ts'
import type { Pipeline } from '../dsl/pipeline.ts'
import { compileElements } from '../dsl/compile.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import { isLogFileSource, isPulledSource, type Source } from '../connectors/sources.ts'
import type { Node } from '../dsl/stream.ts'
import { isStateless } from '../dsl/plan.ts'
import { collectMachines, type Stateful } from '../operators/core/operate.ts'
import type { CheckpointOptions } from './checkpoint.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import { inputIdentity } from './inputIdentity.ts'
import { cutOf, restoreCut } from './cut.ts'
import type { Sink } from '../connectors/sinks.ts'
import { SinkQueue } from './sinkQueue.ts'
import { isDeadLetter, readLog } from './log.ts'
import { Collector, type CollectorOptions, type RunResult } from './result.ts'

/** The most records `run` sends in one batch. */
const MAX_BATCH = 1024

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
   * for the next owner. Needs `checkpoint` and a pulled (broker) source.
   */
  readonly handoff?: AbortSignal
}

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
export async function run<I, O, K, S extends Source<unknown>>(p: Pipeline<I, O, K>, given: NotAPath<S>, opts: RunOptions<O> = {}): Promise<RunResult<O>> {
  // A string is an Iterable (of its characters): a path here would be a run of one-letter events.
  if (typeof given === 'string')
    throw new TypeError(`run: got the string ${JSON.stringify(given)} where a source goes; for a recorded log, use run(p, fromLog(${JSON.stringify(given)}))`)
  const source: Source<unknown> = given
  const { sink } = opts
  const every = opts.checkpoint
  if (every?.everyEvents !== undefined && !(Number.isSafeInteger(every.everyEvents) && every.everyEvents >= 1))
    throw new TypeError(`run: checkpoint.everyEvents must be a positive integer, got ${String(every.everyEvents)}`)
  if (every?.everyMs !== undefined && !(Number.isFinite(every.everyMs) && every.everyMs > 0))
    throw new TypeError(`run: checkpoint.everyMs must be a positive number of ms, got ${String(every.everyMs)}`)
  // A checkpoint is taken with the source paused between two records, and a restore skips what it
  // covers; an Observable pushes and can do neither, so it would be restored and then counted again.
  if (opts.handoff !== undefined && (every === undefined || !isPulledSource(source)))
    throw new TypeError('run: handoff needs checkpoint and a pulled (broker) source: the work handed over is in the checkpoint')
  if (every !== undefined && isObservable(source))
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

  let input!: Subscriber<SourceRecord>
  const { result: subscription, machines } = collectMachines(() =>
    new Observable<SourceRecord>((s) => {
      input = s
    })
      .pipe(compileElements(p, ctx, { watermarks: opts.onWatermark !== undefined }))
      .subscribe(collector),
  )
  const credit = ctx.credit
  /** Source records consumed, the offset a checkpoint records. */
  let consumed = 0
  const slot = reusableRecord()
  const push = (value: unknown, pos: number) => {
    collector.eventsIn++
    input.next(slot.fill(value, Number.NaN, pos))
  }
  /** Sends records at positions `pos`, `pos + 1`, ... as one batch. */
  const pushBatch = (values: readonly unknown[], pos: number) => {
    collector.eventsIn += values.length
    input.next({ _tag: 'Batch', values, time: Number.NaN, pos })
  }

  const cp = opts.checkpoint
  // What every checkpoint of this run is taken for, checked when one is restored.
  const shapes = cp === undefined ? [] : stateShapes(p)
  const inputId = cp === undefined ? undefined : inputIdentity(source)
  const pulled = isPulledSource(source) ? source : undefined
  // Acknowledgement rule (see `run`): tokens are released at a checkpoint, after the sink's writes
  // (stateless pipelines), or at the end of the run.
  const ackMode = pulled === undefined ? 'none' : cp !== undefined ? 'checkpoint' : statelessPipeline(p.output.node) ? 'sink' : 'end'
  let heldTokens: unknown[] = []
  let ackChain: Promise<void> = Promise.resolve()
  let ackFailure: { e: unknown } | undefined
  const ackAfterSink = (tokens: unknown[]) => {
    const barrier = sinkQueue?.enqueued ?? 0
    ackChain = ackChain
      .then(async () => {
        if (sinkQueue !== undefined) await sinkQueue.flushThrough(barrier)
        await pulled!.ack(tokens)
      })
      .catch((e) => {
        ackFailure ??= { e }
      })
  }

  /** Records a replayable source skips because the restored checkpoint covers them. */
  let skip = 0
  let lastOffset = 0
  let lastAt = ctx.scheduler.now()
  const everyEvents = cp?.everyEvents ?? (cp?.everyMs === undefined ? 10_000 : Number.POSITIVE_INFINITY)
  const checkpointDue = () =>
    cp !== undefined && (consumed - lastOffset >= everyEvents || (cp.everyMs !== undefined && ctx.scheduler.now() - lastAt >= cp.everyMs))
  const takeCheckpoint = async () => {
    await credit.drained()
    if (sinkQueue !== undefined) await sinkQueue.flushThrough(sinkQueue.enqueued)
    if (collector.settled) return
    const c = cutOf(machines, { pipeline: p.name, plan: shapes, input: inputId, offset: consumed, outputs, acked: heldTokens })
    await cp!.store.save(c)
    lastOffset = consumed
    lastAt = ctx.scheduler.now()
    if (pulled !== undefined && heldTokens.length > 0) {
      const tokens = heldTokens
      heldTokens = []
      await pulled.ack(tokens)
    }
  }

  try {
    if (cp !== undefined) {
      checkpointable(machines)
      const saved = await cp.store.load()
      if (saved !== undefined) {
        restoreCut(saved, { name: p.name, shapes, source }, machines)
        skip = consumed = lastOffset = saved.offset
        outputs = saved.outputs
        if (pulled !== undefined && saved.acked.length > 0) await pulled.ack(saved.acked)
      }
    }
    let handedOff = false
    if (pulled !== undefined) {
      let pos = 0
      let midUnit = false
      while (!collector.settled) {
        if (opts.handoff?.aborted && !midUnit) {
          await takeCheckpoint()
          handedOff = true
          break
        }
        // A sink flush behind an acknowledgement failed: the sink cannot write, so stop reading now
        // rather than at the end of a run that may never end.
        if (ackFailure !== undefined) throw ackFailure.e
        if (!credit.available) await credit.whenAvailable()
        // Only between units the source acknowledges (a null token is mid-unit, e.g. inside a
        // database transaction): a cut inside one would restore its first records and then get
        // the whole unit again from the source.
        if (checkpointDue() && !midUnit) await takeCheckpoint()
        if (collector.settled) break
        const batch = await pulled.pull(Math.max(1, credit.highWaterMark - credit.outstanding))
        if (batch === undefined) {
          // A broker source that stops (idle, aborted) leaves a checkpoint covering all it read:
          // the next run restores it and resumes where the group left off.
          if (cp !== undefined && consumed > lastOffset && !midUnit) await takeCheckpoint()
          break
        }
        if (batch.length === 0) continue
        const tokens: unknown[] = []
        let values: unknown[] = []
        const send = () => {
          if (values.length === 0) return
          pushBatch(values, pos - values.length)
          values = []
        }
        for (let i = 0; i < batch.length; i++, pos++) {
          const r = batch[i]
          tokens.push(r.token)
          midUnit = r.token === null
          if (r.rejected === undefined) values.push(r.value)
          else {
            // An entry the source could not decode: a dead letter at its place in the input. Its
            // token is acknowledged with the others: it is handled, and redelivery cannot mend it.
            send()
            collector.eventsIn++
            ctx.deadLetter({ ...r.rejected, pos })
          }
        }
        consumed += batch.length
        send()
        // A batch the run failed in is not acknowledged at all: records after the failure never
        // went in, and the broker must deliver them again (at least once).
        if (collector.settled) break
        if (ackMode === 'sink') ackAfterSink(tokens)
        else for (let i = 0; i < tokens.length; i++) heldTokens.push(tokens[i])
      }
      if (!handedOff) input.complete()
    } else if (isObservable(source)) {
      let pos = 0
      const sub = source.subscribe({
        next: (v) => push(v, pos++),
        error: (e) => input.error(e),
        complete: () => input.complete(),
      })
      await collector.done.catch(() => undefined)
      sub.unsubscribe()
    } else {
      if (isLogFileSource(source)) {
        read: for await (const batch of readLog(source.log, { maxLineBytes: source.maxLineBytes })) {
          for (let i = 0; i < batch.length; i++) {
            const e = batch[i]
            const dead = isDeadLetter(e)
            if (!dead && source.topic !== undefined && e.topic !== source.topic) {
              collector.skipped++
              continue
            }
            // A malformed line counts in the offset like a record: the checkpoint before the next
            // record covers it, so a restored run does not report it again.
            if (skip > 0) {
              skip--
              continue
            }
            if (dead) {
              consumed++
              collector.eventsIn++
              ctx.deadLetter(e)
              continue
            }
            if (!credit.available) await credit.whenAvailable()
            if (checkpointDue()) await takeCheckpoint()
            if (collector.settled) break read
            consumed++
            push(e.event, e.offset)
          }
        }
      } else {
        // One loop for sync and async iterables: a sync iterator's values are not awaited, so an
        // array costs no microtask per value.
        const it =
          Symbol.asyncIterator in source
            ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
            : (source as Iterable<unknown>)[Symbol.iterator]()
        // Values go in batches (see `Batch`): what is checked per record elsewhere (credit, a
        // checkpoint due, a failed run) is checked before each batch, and a batch never holds more
        // records than the credit left or than remain before the next checkpoint, so backpressure
        // and checkpoint offsets are exactly as with single records. A pipeline with a blocking
        // buffer, which may pause the source between any two records, gets them one at a time.
        let values: unknown[] = []
        let first = 0
        let limit = 0
        const flush = () => {
          if (values.length === 0) return
          consumed += values.length
          pushBatch(values, first)
          values = []
        }
        const isAsync = Symbol.asyncIterator in source
        for (let pos = 0; ; pos++) {
          // An async source's values go one by one, each before the next is awaited.
          if (isAsync) flush()
          // Credit is checked before the source is asked for a batch's first value: a source read
          // while the window is full would hold a record (from a broker, a socket) the pipeline has
          // no room for.
          if (values.length === 0 && skip === 0) {
            if (!credit.available) await credit.whenAvailable()
            if (collector.settled) {
              await it.return?.()
              break
            }
          }
          let r = it.next()
          if (r instanceof Promise) r = await r
          if (r.done) break
          if (skip > 0) {
            skip--
            continue
          }
          if (values.length === 0) {
            // A checkpoint only between records that exist (the value just read is not in it).
            if (checkpointDue()) await takeCheckpoint()
            if (collector.settled) {
              await it.return?.()
              break
            }
            first = pos
            limit = credit.mayPause ? 1 : Math.min(MAX_BATCH, credit.highWaterMark - credit.outstanding)
            if (cp !== undefined) limit = Math.min(limit, everyEvents - (consumed - lastOffset))
          }
          values.push(r.value)
          if (values.length >= limit) flush()
        }
        flush()
      }
      input.complete()
    }
    // A run handed over has written and checkpointed everything so far; its output never ends.
    if (handedOff) {
      if (collector.failed) throw collector.failure
    } else await collector.done
    await credit.drained()
    await sinkQueue?.close()
    if (pulled !== undefined) {
      await ackChain
      if (ackFailure !== undefined) throw ackFailure.e
      // Everything is written and closed: what a stateful pipeline held until the end is handled now.
      if (ackMode === 'end' && heldTokens.length > 0) await pulled.ack(heldTokens)
    }
  } catch (e) {
    // A fail-fast dead letter thrown while reading, the pipeline's own failure, or the sink's.
    subscription.unsubscribe()
    await sinkQueue?.abandon()
    await pulled?.close()
    throw collector.failed ? collector.failure : e
  }
  subscription.unsubscribe()
  const sourceMetrics = await pulled?.metrics?.().catch(() => undefined)
  await pulled?.close()
  const result = collector.result()
  return sourceMetrics === undefined ? result : { ...result, metrics: { ...result.metrics, source: sourceMetrics } }
}

/** True when the pipeline holds no events between records: only fused stateless stages and merges. */
export function statelessPipeline(n: Node): boolean {
  if (n._tag === 'Source') return true
  if (isStateless(n)) return statelessPipeline(n.input)
  if (n._tag === 'Merge') return n.inputs.every(statelessPipeline)
  return false
}

function checkpointable(machines: readonly Stateful[]): void {
  for (const m of machines)
    if (typeof m.snapshot !== 'function' || typeof m.restore !== 'function')
      throw new Error(`run: checkpoint: a stage of this pipeline (${m.constructor?.name ?? 'machine'}) has no snapshot/restore`)
}
