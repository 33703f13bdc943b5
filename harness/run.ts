import { Observable, isObservable, type Subscriber, type SchedulerLike } from 'rxjs'
import type { Data } from '../dsl/element.ts'
import type { Pipeline } from '../dsl/pipeline.ts'
import { compileElements } from '../dsl/compile.ts'
import type { Credit } from '../operators/core/credit.ts'
import { isLogFileSource, type Source } from '../connectors/sources.ts'
import type { Sink } from '../connectors/sinks.ts'
import { isDeadLetter, readLog } from './log.ts'
import { Collector, type CollectorOptions, type RunResult } from './result.ts'

export interface RunOptions<O> extends Omit<CollectorOptions<O>, 'onOutput'> {
  /** Where outputs go; without one they are kept in `out`. With one, `out` stays empty unless `keepOutput`. */
  readonly sink?: Sink<O>
  /** Fail on the first dead letter or late event (the promise rejects with a `FailFastError`). */
  readonly failFast?: boolean
  /** Events in flight in async stages and the sink before the source is held back (default 1024). */
  readonly highWaterMark?: number
  /** Processing time for idle timeouts and microbatches (default: RxJS's asyncScheduler, real time). */
  readonly scheduler?: SchedulerLike
}

/** How many source events an output stands for in the credit window: a block counts its events. */
const weight = (o: unknown): number => (Array.isArray(o) ? Math.max(1, o.length) : 1)

/** Feeds a sink one value at a time, in order, holding credit while a write is pending. */
class SinkQueue<O> {
  private readonly queue: O[] = []
  private writing = false
  private failed: unknown
  private idle: Promise<void> = Promise.resolve()
  private markIdle: () => void = () => undefined

  constructor(
    private readonly sink: Sink<O>,
    private readonly credit: Credit,
    private readonly onError: (e: unknown) => void,
  ) {}

  push(o: O): void {
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
  }

  private wait(p: Promise<void>, w: number): void {
    this.credit.acquire(w)
    this.writing = true
    this.idle = new Promise((resolve) => (this.markIdle = resolve))
    p.then(
      () => {
        this.credit.release(w)
        this.next()
      },
      (e) => {
        this.credit.release(w)
        this.failed = e
        this.writing = false
        this.onError(e)
        this.markIdle()
      },
    )
  }

  private next(): void {
    while (this.queue.length > 0) {
      const o = this.queue.shift()!
      const w = weight(o)
      let r: void | Promise<void>
      try {
        r = this.sink.write(o)
      } catch (e) {
        this.credit.release(w)
        this.failed = e
        this.writing = false
        this.onError(e)
        return this.markIdle()
      }
      if (r !== undefined) {
        // Its credit was taken when it was queued; hand it over to the pending write.
        this.credit.release(w)
        return this.wait(r, w)
      }
      this.credit.release(w)
    }
    this.writing = false
    this.markIdle()
  }

  /** Resolves when every value has been written and the sink is closed; rejects if a write failed. */
  async close(): Promise<void> {
    while (this.writing) await this.idle
    if (this.failed !== undefined) throw this.failed
    await this.sink.close?.()
  }
}

/**
 * Runs a pipeline over a source in processing time and returns its outputs, late events, dead
 * letters and metrics. Pulled sources (arrays, iterables, async iterables, logs) are read only while
 * the pipeline has credit: async stages and an async sink hold it until they finish, so a fast
 * source feeding a slow sink holds steady memory.
 *
 * @example
 * const { out, deadLetters } = await run(bigFares, trips)
 */
export async function run<I, O, K>(p: Pipeline<I, O, K>, source: Source<unknown>, opts: RunOptions<O> = {}): Promise<RunResult<O>> {
  const { sink } = opts
  let sinkQueue: SinkQueue<O> | undefined
  const collector = new Collector<O>({
    ...opts,
    keepOutput: opts.keepOutput ?? sink === undefined,
    onOutput: sink ? (o) => sinkQueue!.push(o) : undefined,
  })
  const ctx = collector.context({ scheduler: opts.scheduler, highWaterMark: opts.highWaterMark, failFast: opts.failFast })
  if (sink) sinkQueue = new SinkQueue(sink, ctx.credit, (e) => collector.error(e))

  let input!: Subscriber<Data<unknown>>
  const subscription = new Observable<Data<unknown>>((s) => {
    input = s
  })
    .pipe(compileElements(p, ctx))
    .subscribe(collector)
  const credit = ctx.credit
  const push = (value: unknown, pos: number) => {
    collector.eventsIn++
    input.next({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos })
  }

  try {
    if (isObservable(source)) {
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
        read: for await (const batch of readLog(source.log)) {
          for (let i = 0; i < batch.length; i++) {
            const e = batch[i]
            if (isDeadLetter(e)) {
              collector.eventsIn++
              ctx.deadLetter(e)
              continue
            }
            if (source.topic !== undefined && e.topic !== source.topic) continue
            if (!credit.available) await credit.whenAvailable()
            if (collector.settled) break read
            push(e.event, e.offset)
          }
        }
      } else if (Symbol.asyncIterator in source) {
        let pos = 0
        for await (const v of source as AsyncIterable<unknown>) {
          if (!credit.available) await credit.whenAvailable()
          if (collector.settled) break
          push(v, pos++)
        }
      } else {
        let pos = 0
        for (const v of source as Iterable<unknown>) {
          if (!credit.available) await credit.whenAvailable()
          if (collector.settled) break
          push(v, pos++)
        }
      }
      input.complete()
    }
    await collector.done
    await credit.drained()
    await sinkQueue?.close()
  } catch (e) {
    // A fail-fast dead letter thrown while reading, the pipeline's own failure, or the sink's.
    subscription.unsubscribe()
    throw collector.failed ? collector.failure : e
  }
  subscription.unsubscribe()
  return collector.result()
}
