import { creditWeight, type Credit } from '../operators/core/Credit.ts'
import type { Sink } from '../connectors/sinks.ts'
import { Queue } from '../operators/core/Queue.ts'

const weight = creditWeight

/** Feeds a sink one value at a time, in order, holding credit while a write is pending. */
export class SinkQueue<O> {
  private readonly queue = new Queue<O>()
  private writing = false
  private failed: unknown
  private idle: Promise<void> = Promise.resolve()
  private markIdle: () => void = () => undefined
  /** Values handed to `push` so far. */
  enqueued = 0
  /** Values whose write has completed (in order, so these are the first `written` values). */
  private written = 0
  /** `flushThrough` callers waiting for `written` to grow. */
  private progress: Array<() => void> = []

  constructor(
    private readonly sink: Sink<O>,
    private readonly credit: Credit,
    private readonly onError: (e: unknown) => void,
  ) {}

  push(o: O): void {
    this.enqueued++
    // A sink that failed takes nothing more: the run is failing, and the rest of a batch still
    // coming out of the pipeline must not reach it.
    if (this.failed !== undefined) return
    if (this.writing) {
      this.credit.acquire(weight(o))
      this.queue.push(o)
      return
    }
    let r: void | Promise<void>
    try {
      r = this.sink.write(o)
    } catch (e) {
      this.failed = e
      return this.onError(e)
    }
    if (r !== undefined) this.wait(r, weight(o))
    else this.wrote()
  }

  private wrote(): void {
    this.written++
    if (this.progress.length === 0) return
    const ws = this.progress
    this.progress = []
    for (const w of ws) w()
  }

  private wait(p: Promise<void>, w: number): void {
    this.credit.acquire(w)
    // One idle promise per busy period: a write chained from `next` keeps the one already awaited.
    if (!this.writing) {
      this.writing = true
      this.idle = new Promise((resolve) => (this.markIdle = resolve))
    }
    p.then(
      () => {
        this.wrote()
        this.credit.release(w)
        this.next()
      },
      (e) => {
        this.credit.release(w)
        this.failed = e
        this.dropQueued()
        this.writing = false
        this.onError(e)
        this.markIdle()
        this.wake()
      },
    )
  }

  private next(): void {
    while (this.queue.length > 0) {
      const o = this.queue.shift() as O
      const w = weight(o)
      let r: void | Promise<void>
      try {
        r = this.sink.write(o)
      } catch (e) {
        this.credit.release(w)
        this.failed = e
        this.dropQueued()
        this.writing = false
        this.onError(e)
        this.wake()
        return this.markIdle()
      }
      if (r !== undefined) {
        // Its credit was taken when it was queued; hand it over to the pending write.
        this.credit.release(w)
        return this.wait(r, w)
      }
      this.wrote()
      this.credit.release(w)
    }
    this.writing = false
    this.markIdle()
  }

  /**
   * After a failed write, the values still queued will never be written: their credit goes back,
   * or a source waiting for credit would wait forever instead of seeing the run fail.
   */
  private dropQueued(): void {
    this.queue.forEach((o) => this.credit.release(weight(o)))
    this.queue.clear()
  }

  private wake(): void {
    const ws = this.progress
    this.progress = []
    for (const w of ws) w()
  }

  /** Resolves once the first `n` values are written and flushed (durable); rejects if a write failed. */
  async flushThrough(n: number): Promise<void> {
    while (this.written < n && this.failed === undefined) await new Promise<void>((resolve) => this.progress.push(resolve))
    if (this.failed !== undefined) throw this.failed
    await this.sink.flush?.()
  }

  /**
   * Releases the sink after a failed run (its own failure or another's): pending writes settle
   * first, then `close` runs, so files and connections are not left open. Errors here are not the
   * run's: the error that failed it is the one reported.
   */
  async abandon(): Promise<void> {
    this.dropQueued()
    while (this.writing) await this.idle
    try {
      await this.sink.close?.()
    } catch {
      // The run has failed already; this one would hide why.
    }
  }

  /** Resolves when every value has been written and the sink is closed; rejects if a write failed. */
  async close(): Promise<void> {
    while (this.writing) await this.idle
    if (this.failed !== undefined) throw this.failed
    await this.sink.close?.()
  }
}
