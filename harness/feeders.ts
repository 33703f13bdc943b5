import { isObservable, type Observable } from 'rxjs'
import type { DeadLetter } from '../dsl/sides.ts'
import type { Credit } from '../operators/core/Credit.ts'
import { isLogFileSource, isPulledSource, type LogFileSource, type PulledSource, type PullOptions, type Source } from '../connectors/sources.ts'
import type { Checkpoint, CheckpointV1 } from './checkpoint.ts'
import type { SinkQueue } from './SinkQueue.ts'
import { isDeadLetter, readLog, type LogRecord } from './log.ts'
import { routeTo } from '../dsl/sources.ts'

/** The most records a feeder sends in one batch. */
const MAX_BATCH = 1024

/** Where a feeder sends what it reads: one input of the running pipeline, counted in its metrics. */
export interface Intake {
  /** One record at source position `pos`. */
  record(value: unknown, pos: number): void
  /** Records at positions `pos`, `pos + 1`, ... as one batch (see `Batch`). */
  batch(values: readonly unknown[], pos: number): void
  /** An entry the source could not read: a dead letter at its place in the input. */
  reject(d: DeadLetter): void
  /** A record of another topic, left out. */
  skip(): void
  /** The input has ended: the end-of-input watermark fires what is open. */
  end(): void
  /** The source failed. */
  fail(e: unknown): void
  /** True once the run's output has completed or failed: nothing more goes in. */
  readonly settled: boolean
  /** Resolves or rejects when the run's output does. */
  readonly done: Promise<void>
}

/**
 * One kind of source, read by `run`'s loop (see `runLoop`). The loop owns what is the same for
 * every source (credit, checkpoints, the end); a feeder owns how its source is read, how far a
 * restore skips, and, for a broker, acknowledgements.
 */
export interface Feeder {
  /** Source records consumed so far, dead letters included: the offset a checkpoint records. */
  readonly consumed: number
  /** False inside a unit the source acknowledges as a whole (a database transaction): no checkpoint is cut there. */
  readonly atBoundary: boolean
  /** True for a source that stops rather than ends (a broker): it leaves a checkpoint covering all it read. */
  readonly stops: boolean
  /**
   * Whether there is a record to send, reading ahead one when the source must be read to know (an
   * iterable, a log); what needs no credit (a malformed line) goes in on the way. False at the end.
   */
  ready(): boolean | Promise<boolean>
  /**
   * Sends the record `ready` found and up to `room - 1` more in one go, within the credit left and
   * `untilCheckpoint` (records before the next checkpoint is due). False once the input has ended.
   * A broker asked with `{ wait: false }` sends what it has now, perhaps nothing, without waiting.
   */
  feed(credit: Credit, untilCheckpoint: number, options?: PullOptions): boolean | Promise<boolean>
  /** Goes on from a restored checkpoint: a replayable source skips what it covers, a broker re-acknowledges it. */
  resume(c: Checkpoint | CheckpointV1): Promise<void>
  /** Throws what failed outside the loop (an acknowledgement behind the sink), so reading stops now. */
  check(): void
  /** The acknowledgement tokens a checkpoint taken now covers. */
  covered(): readonly unknown[]
  /** A checkpoint covering `covered()` is saved: acknowledge those records. */
  saved(): Promise<void>
  /** The run has written and closed everything: acknowledge what was held until the end. */
  finish(): Promise<void>
  /** The source's own counters, if it keeps any. */
  metrics(): Promise<Readonly<Record<string, number>> | undefined>
  /** Releases the source (connections, an iterator left half read). */
  close(): Promise<void>
}

/** What a feeder needs besides its source. */
export interface FeederOptions {
  readonly intake: Intake
  /** When a broker's records are acknowledged (see `run`). */
  readonly acks: AckMode
  readonly sinkQueue: SinkQueue<unknown> | undefined
  /** A multi-source pipeline's source names: a recorded log's records go to the source their topic names. */
  readonly route?: ReadonlySet<string>
}

/**
 * When a pulled source's records are acknowledged: at a checkpoint covering them, once the sink
 * has written what came of them (a stateless pipeline), or at the end of the run.
 */
export type AckMode = 'checkpoint' | 'sink' | 'end'

/** The feeder for a source of any kind `run` takes. */
export function feederOf(source: Source<unknown>, o: FeederOptions): Feeder {
  if (isPulledSource(source)) return new PulledFeeder(source, o)
  if (isObservable(source)) return new ObservableFeeder(source, o.intake)
  if (isLogFileSource(source)) return new LogFeeder(source, o.intake, o.route)
  return new IterableFeeder(source as Iterable<unknown> | AsyncIterable<unknown>, o.intake)
}

/** What feeders without acknowledgements share. */
export abstract class Unacknowledged {
  consumed = 0
  readonly atBoundary: boolean = true
  readonly stops: boolean = false
  check(): void {}
  covered(): readonly unknown[] {
    return []
  }
  async saved(): Promise<void> {}
  async finish(): Promise<void> {}
  async metrics(): Promise<undefined> {
    return undefined
  }
}

/**
 * Arrays, iterables and async iterables. A sync iterator's values are not awaited, so an array
 * costs no microtask per value. Values go in batches: what the loop checks per record (credit, a
 * checkpoint due, a failed run) it checks before each batch, and a batch never holds more records
 * than the credit left or than remain before the next checkpoint, so backpressure and checkpoint
 * offsets are exactly as with single records. A pipeline with a blocking buffer, which may pause
 * the source between any two records, gets them one at a time; so does an async source, each
 * value before the next is awaited.
 */
class IterableFeeder extends Unacknowledged implements Feeder {
  private readonly it: Iterator<unknown> | AsyncIterator<unknown>
  private readonly isAsync: boolean
  /** The value `ready` read ahead. */
  private head: IteratorResult<unknown> | undefined

  constructor(source: Iterable<unknown> | AsyncIterable<unknown>, private readonly intake: Intake) {
    super()
    this.isAsync = Symbol.asyncIterator in source
    this.it = this.isAsync ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (source as Iterable<unknown>)[Symbol.iterator]()
  }

  async resume(c: Checkpoint | CheckpointV1): Promise<void> {
    for (let i = 0; i < c.offset; i++) if ((await this.it.next()).done) break
    this.consumed = c.offset
  }

  ready(): boolean | Promise<boolean> {
    if (this.head?.done === true) return false
    const r = this.it.next()
    if (r instanceof Promise) return r.then((v) => this.hold(v))
    return this.hold(r)
  }

  private hold(r: IteratorResult<unknown>): boolean {
    this.head = r
    return r.done !== true
  }

  feed(credit: Credit, untilCheckpoint: number): boolean {
    const values = [this.head!.value]
    this.head = undefined
    const limit = this.isAsync || credit.mayPause ? 1 : Math.min(MAX_BATCH, credit.highWaterMark - credit.outstanding, untilCheckpoint)
    while (values.length < limit) {
      const r = (this.it as Iterator<unknown>).next()
      if (r.done) {
        this.head = r
        break
      }
      values.push(r.value)
    }
    this.intake.batch(values, this.consumed)
    this.consumed += values.length
    return true
  }

  async close(): Promise<void> {
    await this.it.return?.()
  }
}

/**
 * An Observable pushes its values: it cannot be paused or skipped, so it is fed whole, in one call,
 * until it ends or the run settles (`run` refuses checkpoints for it).
 */
class ObservableFeeder extends Unacknowledged implements Feeder {
  constructor(private readonly source: Observable<unknown>, private readonly intake: Intake) {
    super()
  }

  async resume(): Promise<void> {}

  ready(): boolean {
    return true
  }

  async feed(): Promise<boolean> {
    const { intake } = this
    const sub = this.source.subscribe({
      next: (v) => intake.record(v, this.consumed++),
      error: (e) => intake.fail(e),
      complete: () => intake.end(),
    })
    await intake.done.catch(() => undefined)
    sub.unsubscribe()
    return false
  }

  async close(): Promise<void> {}
}

/**
 * A recorded log, one record per `feed`. A malformed line counts in the offset like a record (the
 * checkpoint before the next record covers it, so a restored run does not report it again); a
 * record of another topic does not count at all.
 */
class LogFeeder extends Unacknowledged implements Feeder {
  private readonly reader: AsyncIterator<readonly (LogRecord | DeadLetter)[]>
  private batch: readonly (LogRecord | DeadLetter)[] = []
  private i = 0
  /** Records a restore skips because its checkpoint covers them. */
  private skipping = 0

  /** The record `ready` found, routed to its source (a multi-source pipeline). */
  private routed: unknown

  constructor(private readonly source: LogFileSource, private readonly intake: Intake, private readonly route?: ReadonlySet<string>) {
    super()
    this.reader = readLog(source.log, { maxLineBytes: source.maxLineBytes })[Symbol.asyncIterator]()
  }

  async resume(c: Checkpoint | CheckpointV1): Promise<void> {
    this.skipping = this.consumed = c.offset
  }

  ready(): boolean | Promise<boolean> {
    const { batch, intake } = this
    const topic = this.source.topic
    for (; this.i < batch.length; this.i++) {
      const e = batch[this.i]
      const dead = isDeadLetter(e)
      const r = dead || this.route === undefined ? e : routeTo(this.route, e.topic, e.event, e.offset)
      if (r === undefined || (!dead && topic !== undefined && e.topic !== topic)) intake.skip()
      else if (this.skipping > 0) this.skipping--
      else {
        if (!isDeadLetter(r)) {
          this.routed = r
          return true
        }
        this.consumed++
        intake.reject(r)
      }
    }
    return this.reader.next().then((r) => {
      if (r.done === true) return false
      this.batch = r.value
      this.i = 0
      return this.ready()
    })
  }

  feed(): boolean {
    const e = this.batch[this.i++] as LogRecord
    this.consumed++
    this.intake.record(this.route === undefined ? e.event : this.routed, e.offset)
    return true
  }

  async close(): Promise<void> {
    await this.reader.return?.()
  }
}

/**
 * A broker's source (Redis Streams, PostgreSQL CDC), asked for at most as many records as there is
 * credit for; it acknowledges each record only once nothing derived from it can be lost (see `run`).
 */
class PulledFeeder implements Feeder {
  consumed = 0
  atBoundary = true
  readonly stops = true
  private readonly intake: Intake
  private readonly acks: AckMode
  private readonly sinkQueue: SinkQueue<unknown> | undefined
  /** Tokens of records read and not acknowledged yet (held for a checkpoint or the end). */
  private held: unknown[] = []
  private ackChain: Promise<void> = Promise.resolve()
  private ackFailure: { readonly e: unknown } | undefined
  /** This run's position of the next record (from 0, restored or not), for side outputs. */
  private pos = 0

  constructor(private readonly source: PulledSource<unknown>, o: FeederOptions) {
    this.intake = o.intake
    this.acks = o.acks
    this.sinkQueue = o.sinkQueue
  }

  async resume(c: Checkpoint | CheckpointV1): Promise<void> {
    this.consumed = c.offset
    if (c.acked.length > 0) await this.source.ack(c.acked)
  }

  ready(): boolean {
    return true
  }

  async feed(credit: Credit, _untilCheckpoint: number, options?: PullOptions): Promise<boolean> {
    const { intake } = this
    const room = Math.max(1, credit.highWaterMark - credit.outstanding)
    const batch = await this.source.pull(room, options)
    if (batch === undefined) return false
    if (batch.length === 0) return true
    const tokens: unknown[] = []
    let values: unknown[] = []
    let pos = this.pos
    const send = () => {
      if (values.length === 0) return
      intake.batch(values, pos - values.length)
      values = []
    }
    for (let i = 0; i < batch.length; i++, pos++) {
      const r = batch[i]
      tokens.push(r.token)
      // Only between units the source acknowledges (a null token is mid-unit, e.g. inside a
      // database transaction): a cut inside one would restore its first records and then get the
      // whole unit again from the source.
      this.atBoundary = r.token !== null
      if (r.rejected === undefined) values.push(r.value)
      else {
        // Its token is acknowledged with the others: it is handled, and redelivery cannot mend it.
        send()
        intake.reject({ ...r.rejected, pos })
      }
    }
    this.consumed += batch.length
    this.pos = pos
    send()
    // A batch the run failed in is not acknowledged at all: records after the failure never went
    // in, and the broker must deliver them again (at least once).
    if (intake.settled) return true
    if (this.acks === 'sink') this.ackAfterSink(tokens)
    else for (let i = 0; i < tokens.length; i++) this.held.push(tokens[i])
    return true
  }

  /** Acknowledges `tokens` once the sink has flushed every output enqueued so far. */
  private ackAfterSink(tokens: unknown[]): void {
    const { sinkQueue } = this
    const barrier = sinkQueue?.enqueued ?? 0
    this.ackChain = this.ackChain
      .then(async () => {
        if (sinkQueue !== undefined) await sinkQueue.flushThrough(barrier)
        await this.source.ack(tokens)
      })
      .catch((e) => {
        this.ackFailure ??= { e }
      })
  }

  check(): void {
    // A sink flush behind an acknowledgement failed: the sink cannot write, so stop reading now
    // rather than at the end of a run that may never end.
    if (this.ackFailure !== undefined) throw this.ackFailure.e
  }

  covered(): readonly unknown[] {
    return this.held
  }

  async saved(): Promise<void> {
    if (this.held.length === 0) return
    const tokens = this.held
    this.held = []
    await this.source.ack(tokens)
  }

  async finish(): Promise<void> {
    await this.ackChain
    this.check()
    // Everything is written and closed: what a stateful pipeline held until the end is handled now.
    if (this.acks === 'end' && this.held.length > 0) await this.source.ack(this.held)
  }

  async metrics(): Promise<Readonly<Record<string, number>> | undefined> {
    return this.source.metrics?.().catch(() => undefined)
  }

  async close(): Promise<void> {
    await this.source.close()
  }
}
