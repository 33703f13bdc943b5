import { isObservable, Subscriber, type Observable } from 'rxjs'
import { writeLog } from './log.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'

/** Options of `record`. */
export interface RecordOptions {
  /** Topic written on every record (default `'default'`). */
  readonly topic?: string
  /** Wall clock stamping arrivals (default `Date.now`); tests pass a fake one. */
  readonly now?: () => number
  /** Write a binary log with events in this encoding (`avro(schema)`, `msgpack()`); NDJSON without one. */
  readonly encoding?: Encoding
}

/** What a recording wrote. */
export interface RecordResult {
  readonly records: number
}

/**
 * Captures a live source into a log file that `replay` can run: one line per event, with `arrival`
 * the wall-clock time it arrived (kept non-decreasing, so a clock step backwards cannot reorder
 * the log), `offset` its 1-based position and the given topic. Resolves when the source completes
 * and the file is closed. If the source fails, the file keeps what was recorded and the promise
 * rejects with the source's error.
 *
 * An async iterable is pulled only as fast as the file takes it; an Observable cannot be paused,
 * so its events queue in memory while the disk is behind.
 *
 * @example
 * await record(clicks$, 'clicks.ndjson', { topic: 'clicks' })
 * const { out } = await replay(sessionsPipeline, 'clicks.ndjson')
 */
export async function record<E>(
  source: Observable<E> | AsyncIterable<E>,
  path: string,
  opts: RecordOptions = {},
): Promise<RecordResult> {
  const writer = writeLog(path, { topic: opts.topic, encoding: opts.encoding })
  const now = opts.now ?? Date.now
  let last = Number.NEGATIVE_INFINITY
  const write = (event: E): boolean => {
    const t = now()
    if (t > last) last = t
    return writer.write({ arrival: last, event })
  }
  try {
    if (isObservable(source)) {
      await new Promise<void>((resolve, reject) => {
        // A Subscriber we own, so that even a synchronous source sees `closed` once we stop it.
        const sink: Subscriber<E> = new Subscriber<E>({
          next(event) {
            try {
              write(event)
            } catch (e) {
              sink.unsubscribe()
              reject(e)
            }
          },
          error: reject,
          complete: resolve,
        })
        source.subscribe(sink)
      })
    } else {
      for await (const event of source) if (!write(event)) await writer.drained()
    }
  } catch (err) {
    await writer.close().catch(() => undefined)
    throw err
  }
  await writer.close()
  return { records: writer.count }
}
