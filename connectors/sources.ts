import type { Observable } from 'rxjs'
import type { LogSource } from '../harness/log.ts'

/** A recorded NDJSON log read as a stream (never loaded whole), for `run`. */
export interface LogFileSource {
  readonly _tag: 'LogFile'
  readonly log: LogSource
  readonly topic: string | undefined
}

/**
 * What `run` can read: an array or iterable (pulled synchronously), an async iterable (pulled, with
 * backpressure), a recorded log (`fromLog`), or an RxJS Observable (push-only: it cannot be slowed
 * down, so put a `buffer` stage before slow async stages).
 */
export type Source<T> = Iterable<T> | AsyncIterable<T> | Observable<T> | LogFileSource

/**
 * Reads the events of a recorded NDJSON log (`{ offset, arrival, topic, event }` per line) as a
 * source; malformed lines become dead letters with their line number.
 *
 * @example
 * await run(delays, fromLog('examples/data/flights.ndjson'))
 */
export const fromLog = (log: LogSource, options: { topic?: string } = {}): LogFileSource => ({
  _tag: 'LogFile',
  log,
  topic: options.topic,
})

export const isLogFileSource = (s: unknown): s is LogFileSource =>
  typeof s === 'object' && s !== null && (s as { _tag?: unknown })._tag === 'LogFile'
