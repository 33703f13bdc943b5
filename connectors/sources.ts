import type { Observable } from 'rxjs'
import type { DeadLetter } from '../dsl/sides.ts'
import type { LogSource } from '../harness/log.ts'

/** A recorded NDJSON log read as a stream (never loaded whole), for `run`. */
export interface LogFileSource {
  readonly _tag: 'LogFile'
  readonly log: LogSource
  readonly topic: string | undefined
  /** The longest line read, in bytes (see `readLog`). */
  readonly maxLineBytes?: number
}

/**
 * What `run` can read: an array or iterable (pulled synchronously), an async iterable (pulled, with
 * backpressure), a recorded log (`fromLog`), or an RxJS Observable (push-only: it cannot be slowed
 * down, so put a `buffer` stage before slow async stages).
 */
export type Source<T> = Iterable<T> | AsyncIterable<T> | Observable<T> | LogFileSource | PulledSource<T>

/** One record pulled from a broker: the event, its position (for side outputs) and its acknowledgement token. */
export interface PulledRecord<T> {
  readonly value: T
  readonly pos: number
  /**
   * What `ack` is given for this record. `null` when acknowledging it means nothing by itself, as
   * for a record inside a database transaction whose last record carries the position: `run` then
   * takes no checkpoint until the unit's last record.
   */
  readonly token: unknown
  /** Set for an entry the source could not decode (`value` is then meaningless): `run` sends it to dead letters at its position. */
  readonly rejected?: DeadLetter
}

/**
 * A source that is pulled in batches and told when its records are fully handled: a Redis Streams
 * consumer, a CDC replication stream. `run` asks for at most as many records as it has credit for,
 * and calls `ack` with a record's token only after every output derived from it has been written by
 * the sink (stateless pipelines) or a completed checkpoint covers it (stateful pipelines), see `run`.
 * Tokens reach `ack` in the order their records were pulled.
 */
export interface PulledSource<T> {
  readonly _tag: 'Pulled'
  /**
   * What this source reads, in words (`redis topics clicks group g`): a checkpoint records it, and
   * one taken from another input is refused on restore. Optional: without it, nothing is checked.
   */
  readonly identity?: string
  /**
   * Up to `max` records. An empty array means nothing right now (the runner asks again);
   * `undefined` means end of input. With nothing to give, a source may wait a little for records
   * (a blocking read, a poll interval) unless `options.wait` is false: a run reading several
   * inputs asks so, to go on with a busy input rather than wait on an empty one.
   */
  pull(max: number, options?: PullOptions): Promise<readonly PulledRecord<T>[] | undefined>
  /** The records of these tokens are handled: the source may forget them (XACK, LSN feedback). */
  ack(tokens: readonly unknown[]): Promise<void>
  /** Releases connections after the run. */
  close(): Promise<void>
  /** The source's own counters (a CDC slot's lag, ...), asked for at the end of a run: `run` gives them as `metrics.source`. */
  metrics?(): Promise<Readonly<Record<string, number>>>
}

/** How a `PulledSource` is asked for records. */
export interface PullOptions {
  /** False: give what is there now, an empty array if nothing, without waiting for more (default true). */
  readonly wait?: boolean
}

export const isPulledSource = (s: unknown): s is PulledSource<unknown> =>
  typeof s === 'object' && s !== null && (s as { _tag?: unknown })._tag === 'Pulled'

/**
 * Reads the events of a recorded NDJSON log (`{ offset, arrival, topic, event }` per line) as a
 * source; malformed lines become dead letters with their line number.
 *
 * @example
 * await run(delays, fromLog('examples/data/flights.ndjson'))
 */
export const fromLog = (log: LogSource, options: { topic?: string; maxLineBytes?: number } = {}): LogFileSource => ({
  _tag: 'LogFile',
  log,
  topic: options.topic,
  maxLineBytes: options.maxLineBytes,
})

export const isLogFileSource = (s: unknown): s is LogFileSource =>
  typeof s === 'object' && s !== null && (s as { _tag?: unknown })._tag === 'LogFile'
