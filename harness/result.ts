import type { Observer } from 'rxjs'
import type { Element } from '../dsl/element.ts'
import type { DeadLetter, Late } from '../dsl/sides.ts'
import { isDeadLetter } from './log.ts'
import { makeContext, type ContextOptions, type RunContext } from '../operators/core/context.ts'

/** Counters of one run. */
export interface RunMetrics {
  /** Source records read: records handed to the pipeline plus malformed records sent to dead letters. */
  readonly eventsIn: number
  /** Output values. */
  readonly eventsOut: number
  readonly deadLetters: number
  readonly late: number
  /** Records of other topics, left out by replay's `topic` option. */
  readonly skipped: number
  /** Wall-clock duration of the run, in ms (real time, even during a virtual-time replay). */
  readonly wallMs: number
  /** `eventsIn` per wall-clock second. */
  readonly eventsPerSecond: number
  /** The source's own counters at the end of the run, when it has any (e.g. `pgChanges`: the slot's lag). */
  readonly source?: Readonly<Record<string, number>>
}

/**
 * What a run yields: the outputs and both side outputs, in the order they were produced (all of
 * them, or the first few with `keepSideOutputs`), and counters.
 */
export interface RunResult<O> {
  readonly out: O[]
  readonly late: Late[]
  readonly deadLetters: DeadLetter[]
  readonly metrics: RunMetrics
}

/** Options of a `Collector`. */
export interface CollectorOptions<O> {
  /** Keep output values in `out` (default true); turn off when `onOutput` streams them elsewhere. */
  readonly keepOutput?: boolean
  /**
   * Called with each output value, in order, and the source position of the record it came from.
   * It may refuse the value by returning a `DeadLetter` (an output it cannot serialize): that output
   * is counted as a dead letter instead, and the run goes on; any other return value is ignored. If
   * it throws, the run fails with that error.
   */
  readonly onOutput?: (o: O, pos: number) => unknown
  /** Called with each in-band watermark reaching the end of the pipeline (`+Infinity` last). */
  readonly onWatermark?: (time: number) => void
  /**
   * Which dead letters and late events `deadLetters` and `late` keep: all (`true`, the default), the
   * first `n` of each (samples), or none (`false`). The metrics count them all and `onDeadLetter` /
   * `onLate` see them all, so a long run can stream them elsewhere (a file, a topic) and hold only
   * samples: memory then stays bounded however much bad input comes.
   */
  readonly keepSideOutputs?: boolean | number
  /** Called with each dead letter after it is recorded. If it throws, the run fails with that error. */
  readonly onDeadLetter?: (d: DeadLetter) => void
  /** Called with each late event after it is recorded. If it throws, the run fails with that error. */
  readonly onLate?: (l: Late) => void
}

/**
 * Gathers one run's results: give the pipeline the RunContext from `context()` (its dead letters and
 * late events land here) and subscribe the collector itself to the pipeline's output elements. The
 * source driving the run adds to `eventsIn`. Shared by `replay` and the live runner.
 *
 * @example
 * const c = new Collector<number>()
 * const ctx = c.context({ scheduler: clock })
 * records$.pipe(compileElements(p, ctx)).subscribe(c)
 * await c.done
 * const { out, deadLetters, metrics } = c.result()
 */
export class Collector<O> implements Observer<Element<O, unknown>> {
  readonly out: O[] = []
  readonly late: Late[] = []
  readonly deadLetters: DeadLetter[] = []
  /** Source records read so far; the driver of the run increments it. */
  eventsIn = 0
  /** Records of other topics the driver left out. */
  skipped = 0
  private eventsOut = 0
  private deadCount = 0
  private lateCount = 0
  /** How many of each side output are kept (see `keepSideOutputs`). */
  private readonly keepSides: number
  private readonly started = performance.now()
  private finished = false
  private errored = false
  private cause: unknown
  /** The run's context, once made: an output refused by `onOutput` is its dead letter (fail-fast applies). */
  private ctx: RunContext | undefined
  private resolve!: () => void
  private reject!: (e: unknown) => void
  /** Resolves when the output completes; rejects with the error that failed it. */
  readonly done: Promise<void>

  constructor(private readonly options: CollectorOptions<O> = {}) {
    const keep = options.keepSideOutputs ?? true
    if (typeof keep === 'number' && !(Number.isInteger(keep) && keep >= 0))
      throw new TypeError(`keepSideOutputs must be true, false or a whole number of samples to keep, got ${keep}`)
    this.keepSides = keep === true ? Number.POSITIVE_INFINITY : keep === false ? 0 : keep
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    // Failure is also reported through `error`; an unobserved `done` must not crash the process.
    this.done.catch(() => undefined)
  }

  /** A RunContext whose dead letters and late events are recorded here (`failFast` still throws first). */
  context(options: Omit<ContextOptions, 'onDeadLetter' | 'onLate'> = {}): RunContext {
    const ctx = makeContext({ ...options, onDeadLetter: (d) => this.deadLetter(d), onLate: (l) => this.lateEvent(l) })
    this.ctx = ctx
    return ctx
  }

  /** Records a dead letter found outside the pipeline (a malformed source line). */
  deadLetter(d: DeadLetter): void {
    this.deadCount++
    if (this.deadLetters.length < this.keepSides) this.deadLetters.push(d)
    const on = this.options.onDeadLetter
    if (on !== undefined)
      try {
        on(d)
      } catch (err) {
        // Its destination failed (a full disk): the run fails with that error, as for an output.
        this.error(err)
      }
  }

  /** Records a late event. */
  lateEvent(l: Late): void {
    this.lateCount++
    if (this.late.length < this.keepSides) this.late.push(l)
    const on = this.options.onLate
    if (on !== undefined)
      try {
        on(l)
      } catch (err) {
        this.error(err)
      }
  }

  /** True once the output has completed or failed. */
  get settled(): boolean {
    return this.finished || this.errored
  }

  /** True if the output failed; `failure` is then the error. */
  get failed(): boolean {
    return this.errored
  }

  /** The error that failed the run, if it failed. */
  get failure(): unknown {
    return this.cause
  }

  next(e: Element<O, unknown>): void {
    // A run that has failed (its output's consumer refused a value under fail-fast) writes no more.
    if (this.errored) return
    if (e._tag === 'Data') {
      const onOutput = this.options.onOutput
      if (onOutput !== undefined)
        try {
          const refused = onOutput(e.value, e.pos)
          if (isDeadLetter(refused)) {
            if (this.ctx !== undefined) this.ctx.deadLetter(refused)
            else this.deadLetter(refused)
            return
          }
        } catch (err) {
          // The output's own consumer failed (a write error): the run fails with that error, as a
          // failing sink does, rather than escaping as an unhandled error.
          this.error(err)
          return
        }
      this.eventsOut++
      if (this.options.keepOutput !== false) this.out.push(e.value)
    } else this.options.onWatermark?.(e.time)
  }

  error(err: unknown): void {
    if (this.settled) return
    this.errored = true
    this.cause = err
    this.reject(err)
  }

  complete(): void {
    if (this.settled) return
    this.finished = true
    this.resolve()
  }

  /** The results so far, with `wallMs` measured from the collector's creation to now. */
  result(): RunResult<O> {
    const wallMs = performance.now() - this.started
    return {
      out: this.out,
      late: this.late,
      deadLetters: this.deadLetters,
      metrics: {
        eventsIn: this.eventsIn,
        skipped: this.skipped,
        eventsOut: this.eventsOut,
        deadLetters: this.deadCount,
        late: this.lateCount,
        wallMs,
        eventsPerSecond: wallMs > 0 ? (this.eventsIn * 1000) / wallMs : 0,
      },
    }
  }
}
