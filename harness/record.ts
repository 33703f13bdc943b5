import { isObservable, type Observable } from 'rxjs'
import { writeLog } from './log.ts'

/** Options of `record`. */
export interface RecordOptions {
  /** Topic written on every record (default `'default'`). */
  readonly topic?: string
  /** Wall clock stamping arrivals (default `Date.now`); tests pass a fake one. */
  readonly now?: () => number
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
  const writer = writeLog(path, { topic: opts.topic })
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
        let failed = false
        const sub = source.subscribe({
          next(event) {
            if (failed) return
            try {
              write(event)
            } catch (e) {
              failed = true
              reject(e)
              sub?.unsubscribe()
            }
          },
          error: reject,
          complete: resolve,
        })
        // A synchronous source may have failed before `sub` was assigned.
        if (failed) sub.unsubscribe()
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
