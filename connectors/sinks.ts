import { createWriteStream } from 'node:fs'
import { once } from 'node:events'

/**
 * Where a run's output goes. `write` may return a promise: the runner then calls it one value at a
 * time, in order, and holds source credit until it settles (a block of n events holds n), so a
 * slow sink slows the source instead of queueing without bound.
 */
export interface Sink<O> {
  write(value: O): void | Promise<void>
  /**
   * Makes every value written so far durable (a sink that buffers writes, e.g. a Redis pipeline).
   * The runner calls it before acknowledging source records whose outputs those writes hold.
   */
  flush?(): Promise<void>
  /** Flushes and releases the sink after the last value. */
  close?(): void | Promise<void>
}

/**
 * Appends each value as one JSON line to a file, respecting the file stream's own backpressure.
 *
 * @example
 * await run(p, fromLog('in.ndjson'), { sink: ndjsonSink('out.ndjson') })
 */
export function ndjsonSink<O>(path: string): Sink<O> {
  const stream = createWriteStream(path)
  return {
    write(value) {
      // Only wait when the stream's buffer is full: most writes stay synchronous.
      if (!stream.write(JSON.stringify(value) + '\n')) return once(stream, 'drain').then(() => undefined)
    },
    close: () => new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve()))),
  }
}

/** A sink from an async function, e.g. a database write. */
export const asyncSink = <O>(write: (value: O) => Promise<void>, close?: () => Promise<void>): Sink<O> => ({ write, close })
