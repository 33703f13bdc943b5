import type { Subscriber, Subscription } from 'rxjs'
import type { Element, SourceRecord } from '../dsl/element.ts'
import { sourceNames, type MultiSourcePipeline, type Pipeline } from '../dsl/pipeline.ts'
import { routeTo, type EventOf, type RoutedWatermark, type Sources } from '../dsl/sources.ts'
import { isDeadLetter } from './log.ts'
import type { DeadLetter, Late } from '../dsl/sides.ts'
import { makeContext, type RunContext } from '../operators/core/context.ts'
import type { Stateful } from '../operators/core/machine.ts'
import { openPipeline } from './open.ts'
import { VirtualClock } from './VirtualClock.ts'
import { DEFAULT_TOPIC } from './log.ts'

/** One output of a driven pipeline, with where and when it came out. */
export interface Emitted<O> {
  readonly value: O
  /** The output element's event time (a window result's: its window's end, less 1 ms). */
  readonly time: number
  /** The output element's key (`undefined` when unkeyed). */
  readonly key: unknown
  /** Source position of the input it came from (`send` numbers inputs 1, 2, ...). */
  readonly pos: number
  /** Processing time (the driver's clock) when it came out. */
  readonly at: number
}

/** One thing that happened in a driven pipeline, in order: what `timeline` holds. */
export type TimelineEntry<O> =
  | { readonly kind: 'send'; readonly at: number; readonly pos: number; readonly event: unknown }
  | { readonly kind: 'skip'; readonly at: number; readonly topic: string; readonly event: unknown }
  | { readonly kind: 'time'; readonly at: number }
  | { readonly kind: 'watermark'; readonly at: number; readonly time: number }
  | { readonly kind: 'out'; readonly at: number; readonly emitted: Emitted<O> }
  | { readonly kind: 'late'; readonly at: number; readonly late: Late }
  | { readonly kind: 'dead'; readonly at: number; readonly deadLetter: DeadLetter }
  | { readonly kind: 'end'; readonly at: number }

/**
 * What a driven pipeline has produced on one side and not yet taken: `take()` drains it, `peek()`
 * leaves it in place.
 */
export class Pending<T> {
  private items: T[] = []

  /** @internal */
  push(x: T): void {
    this.items.push(x)
  }

  /** Everything not yet taken, oldest first; afterwards none is left. */
  take(): T[] {
    const all = this.items
    this.items = []
    return all
  }

  /** Everything not yet taken, oldest first, left in place. */
  peek(): readonly T[] {
    return this.items
  }

  /** How many are waiting. */
  get size(): number {
    return this.items.length
  }
}

/** Options of `testPipeline`. */
export interface TestPipelineOptions {
  /** Processing time the driver's clock starts at (default 0). */
  readonly start?: number
  /** Only events sent with this topic go in (`send(e, { topic })`; others are skipped, as `replay`'s `topic` does). */
  readonly topic?: string
  /** Throw the first dead letter or late event out of the step that caused it (a `FailFastError`). */
  readonly failFast?: boolean
  /** Credit window of async stages (default 1024). */
  readonly highWaterMark?: number
}

/** Options of one `send`. */
export interface SendOptions {
  /** Processing time it arrives at: the clock moves there first (firing timers due), never backwards. Default: now. */
  readonly at?: number
  /**
   * Its topic (default `'default'`): with the driver's `topic` option, other topics are skipped. For
   * a pipeline with several sources, the source it goes to (a topic naming none: a dead letter).
   */
  readonly topic?: string
}

/** Options of `advanceWatermarkTo`. */
export interface WatermarkOptions<T extends string = string> {
  /** For a pipeline with several sources, the one whose watermark rises (named as in `send(e, { topic })`); default: every source. */
  readonly topic?: T
}

/**
 * A pipeline driven step by step in virtual time, for tests: send events, move the watermark and
 * the processing-time clock, and read what came out after each step. Built by `testPipeline`.
 *
 * Every step is synchronous and runs the pipeline to quiescence before it returns, so outputs are
 * there to read at once, except for what async stages (`asyncMap`, a `buffer` draining into one)
 * are still working on: `await driver.settle()` waits for that. A step taken while an async stage
 * still holds events throws (the order of results would depend on the promises, not on the steps).
 */
export class PipelineDriver<I, O, T extends string = string> {
  /** Outputs not yet taken, with their event time, key, source position and processing time. */
  readonly emitted = new Pending<Emitted<O>>()
  /** Late events not yet taken. */
  readonly late = new Pending<Late>()
  /** Dead letters not yet taken. */
  readonly deadLetters = new Pending<DeadLetter>()
  /** Everything that happened so far, in order (for failure messages and matchers). */
  readonly timeline: TimelineEntry<O>[] = []
  /** The processing-time clock: give it to nothing else; move it with `advanceTimeTo`. */
  readonly clock: VirtualClock

  private readonly ctx: RunContext
  private readonly machines: readonly Stateful[]
  private readonly subscription: Subscription
  private input!: Subscriber<SourceRecord>
  private pos = 0
  private mark = Number.NEGATIVE_INFINITY
  private ended = false
  private failure: { readonly error: unknown } | undefined
  private readonly topic: string | undefined
  /** A multi-source pipeline's sources: an event goes to the source its topic names. */
  private readonly names: ReadonlySet<string> | undefined

  /** @internal use `testPipeline` */
  constructor(p: Pipeline<I, O, unknown>, options: TestPipelineOptions = {}) {
    this.clock = new VirtualClock(options.start ?? 0)
    this.topic = options.topic
    this.names = sourceNames(p)
    this.ctx = makeContext({
      scheduler: this.clock,
      highWaterMark: options.highWaterMark,
      failFast: options.failFast,
      onDeadLetter: (d) => {
        this.deadLetters.push(d)
        this.timeline.push({ kind: 'dead', at: this.clock.now(), deadLetter: d })
      },
      onLate: (l) => {
        this.late.push(l)
        this.timeline.push({ kind: 'late', at: this.clock.now(), late: l })
      },
    })
    const { input, subscription, machines } = openPipeline(p, this.ctx, {
      next: (e: Element<O>) => this.onElement(e),
      error: (error: unknown) => {
        this.failure = { error }
      },
    })
    this.input = input
    this.subscription = subscription
    this.machines = machines.machines
  }

  private onElement(e: Element<O>): void {
    const at = this.clock.now()
    if (e._tag === 'Watermark') {
      this.mark = e.time
      this.timeline.push({ kind: 'watermark', at, time: e.time })
      return
    }
    const emitted: Emitted<O> = { value: e.value, time: e.time, key: e.key, pos: e.pos, at }
    this.emitted.push(emitted)
    this.timeline.push({ kind: 'out', at, emitted })
  }

  /** Throws what failed the pipeline, or refuses a step the driver cannot take now. */
  private ready(step: string): void {
    this.rethrow()
    if (this.ended) throw new Error(`testPipeline: ${step} after end()`)
    const held = this.ctx.credit.outstanding
    if (held > 0) throw new Error(`testPipeline: ${step} while async stages hold ${held} event(s); await driver.settle() first`)
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error
  }

  /**
   * Sends one source event (decoded by the pipeline's codec, stamped with its event time) and runs
   * the pipeline on it. Input the codec should refuse goes in with a cast (`send(raw as Click)`). With `at`, the clock first moves to that processing time, firing the timers
   * due (idle watermarks, microbatches). Events are numbered 1, 2, ... as their source position.
   */
  send(event: I, options: SendOptions = {}): this {
    this.ready('send')
    if (options.at !== undefined) this.moveClock(options.at)
    const at = this.clock.now()
    const topic = options.topic ?? DEFAULT_TOPIC
    // Another topic than the driver's, or one no source of a multi-source pipeline reads: skipped.
    if ((this.topic !== undefined && topic !== this.topic) || (this.names !== undefined && options.topic !== undefined && !this.names.has(options.topic))) {
      this.timeline.push({ kind: 'skip', at, topic, event })
      return this
    }
    const pos = ++this.pos
    this.timeline.push({ kind: 'send', at, pos, event })
    const value = this.names === undefined ? event : routeTo(this.names, options.topic, event, pos)
    if (value === undefined) return this // not reached: skipped above
    if (isDeadLetter(value)) this.ctx.deadLetter(value)
    else this.input.next({ _tag: 'Data', value, time: at, key: undefined, pos })
    this.rethrow()
    return this
  }

  /** Sends each event in turn (`send` with the same options). */
  sendAll(events: Iterable<I>, options: SendOptions = {}): this {
    for (const e of events) this.send(e, options)
    return this
  }

  /**
   * Raises the source's watermark to `t` (as if an event had raised it; a lower `t` does nothing):
   * windows that end at or before `t` fire, and events older than `t` are late from now on.
   *
   * A pipeline with several sources has a watermark per source: `{ topic }` raises that source's
   * (named as `send` names it; a name of no source throws), and without it every source's rises.
   * A stage reading several sources moves with the minimum of theirs, so raising one source alone
   * holds a join back until the others move too.
   */
  advanceWatermarkTo(t: number, options: WatermarkOptions<T> = {}): this {
    this.ready('advanceWatermarkTo')
    const { topic } = options
    if (this.names === undefined) {
      const own = this.topic ?? DEFAULT_TOPIC
      if (topic !== undefined && topic !== own) throw new Error(`testPipeline: advanceWatermarkTo: this pipeline reads one source (topic '${own}'), not '${topic}'`)
      this.input.next({ _tag: 'Watermark', time: t })
    } else {
      if (topic !== undefined && !this.names.has(topic))
        throw new Error(`testPipeline: advanceWatermarkTo: topic '${topic}' names no source of this pipeline (its sources: ${[...this.names].join(', ')})`)
      for (const source of topic === undefined ? this.names : [topic]) {
        const routed: RoutedWatermark = { source, watermark: t }
        this.input.next({ _tag: 'Data', value: routed, time: this.clock.now(), key: undefined, pos: this.pos })
        if (this.failure !== undefined) break
      }
    }
    this.rethrow()
    return this
  }

  /** Moves processing time (the virtual clock) to `t`, firing every timer due by then: idle timeouts, microbatches. */
  advanceTimeTo(t: number): this {
    this.ready('advanceTimeTo')
    this.moveClock(t)
    this.rethrow()
    return this
  }

  /** Moves processing time forward by `ms`. */
  advanceTimeBy(ms: number): this {
    return this.advanceTimeTo(this.clock.now() + ms)
  }

  private moveClock(t: number): void {
    if (t > this.clock.now()) this.timeline.push({ kind: 'time', at: t })
    this.clock.advanceTo(t)
  }

  /**
   * Ends the input: the watermark goes to `+Infinity` (every window fires, every pending match
   * resolves) and the timers still waiting run. With async stages, `await settle()` afterwards.
   */
  end(): this {
    this.ready('end')
    this.ended = true
    this.timeline.push({ kind: 'end', at: this.clock.now() })
    this.input.complete()
    this.clock.flush()
    this.rethrow()
    return this
  }

  /**
   * Waits until async stages hold no events (their results have come out) and the timers they
   * scheduled at the current time have run. Needed only for pipelines with async stages.
   */
  async settle(): Promise<this> {
    const credit = this.ctx.credit
    for (;;) {
      this.rethrow()
      this.clock.advanceTo(this.clock.now())
      if (credit.outstanding === 0) break
      await credit.drained()
    }
    if (this.ended) this.clock.flush()
    this.rethrow()
    return this
  }

  /** The watermark at the pipeline's output (`-Infinity` before any; `+Infinity` after `end()`). */
  get watermark(): number {
    return this.mark
  }

  /** The current processing time. */
  get now(): number {
    return this.clock.now()
  }

  /** Output values not yet taken, oldest first; afterwards none is left (`emitted` has their times). */
  takeOutput(): O[] {
    return this.emitted.take().map((e) => e.value)
  }

  /** Output values not yet taken, left in place. */
  peekOutput(): O[] {
    return this.emitted.peek().map((e) => e.value)
  }

  /**
   * What every stateful stage holds now, as its checkpoint snapshot (in the order the stages were
   * built; the first is the source's watermark generator). For tests that look inside state.
   */
  state(): unknown[] {
    return this.machines.map((m) => m.snapshot?.())
  }

  /** Stops the pipeline (its timers are cancelled). The driver takes no more steps. */
  close(): void {
    this.ended = true
    this.subscription.unsubscribe()
  }
}

/**
 * Drives a pipeline step by step in virtual time, for tests, as Kafka Streams' TopologyTestDriver
 * or Beam's TestStream do: `send` events, `advanceWatermarkTo` / `advanceTimeTo`, then read what came
 * out (`takeOutput()`, `late.take()`, `deadLetters.take()`, `watermark`). Deterministic: the same
 * steps give the same results, in vitest or a plain script.
 *
 * @example
 * const d = testPipeline(clicksPerMinute) // boundedOutOfOrder(10_000), tumbling('1m'), count
 * d.send({ user: 'ann', ts: 1_000 }).send({ user: 'ann', ts: 30_000 })
 * d.takeOutput()                  // []: the watermark is at 20 000
 * d.advanceWatermarkTo(60_000)
 * d.takeOutput()                  // [{ key: 'ann', window: { start: 0, end: 60_000 }, value: 2 }]
 */
export function testPipeline<S extends Sources, O, K>(p: MultiSourcePipeline<S, O, K>, options?: TestPipelineOptions): PipelineDriver<EventOf<S[keyof S]>, O, keyof S & string>
export function testPipeline<I, O, K>(p: Pipeline<I, O, K>, options?: TestPipelineOptions): PipelineDriver<I, O>
export function testPipeline<I, O, K>(p: Pipeline<I, O, K>, options: TestPipelineOptions = {}): PipelineDriver<I, O> {
  return new PipelineDriver<I, O>(p as Pipeline<I, O, unknown>, options)
}
