import { asyncScheduler, BehaviorSubject, type Observable, type Subscription } from 'rxjs'
import { toMillis, type Duration } from '../../dsl/time.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import { followLog, type Logged } from './EventLog.ts'
import { Progress } from './readYourWrites.ts'
import type { TableOptions } from './Table.ts'

/** An aggregate's state as plain data, for checkpoints. */
export interface AggregateSnapshot<S> {
  readonly offset: number
  readonly state: S
}

/**
 * Event sourcing: the state obtained by folding an append-only log of domain events with a typed
 * reducer, `state = events.reduce(reduce, initial)`. Replaying the log into a fresh aggregate
 * (`Aggregate.rebuild`) gives the same state. Records whose offset is not above the applied offset
 * are repeats (at-least-once redelivery) and are ignored, so `reduce` need not be idempotent.
 *
 * @example
 * type Ev = { _tag: 'Deposited'; amount: number } | { _tag: 'Withdrew'; amount: number }
 * const balance = new Aggregate((s: number, e: Ev) => (e._tag === 'Deposited' ? s + e.amount : s - e.amount), 0)
 * balance.handle({ offset: 0, event: { _tag: 'Deposited', amount: 10 } })
 * balance.state // 10
 */
export class Aggregate<S, E> {
  private readonly progress: Progress
  private readonly current: BehaviorSubject<S>
  /** The state after each applied event, starting with the current one. */
  readonly states: Observable<S>

  constructor(
    private readonly reduce: (state: S, event: E) => S,
    initial: S,
    options: TableOptions = {},
  ) {
    this.progress = new Progress(options.scheduler ?? asyncScheduler)
    this.current = new BehaviorSubject(initial)
    this.states = this.current.asObservable()
  }

  /** A fresh aggregate with every record of `log` applied in order. */
  static rebuild<S, E>(log: Iterable<Logged<E>>, reduce: (state: S, event: E) => S, initial: S, options?: TableOptions): Aggregate<S, E> {
    const a = new Aggregate(reduce, initial, options)
    for (const r of log) a.handle(r)
    return a
  }

  get state(): S {
    return this.current.value
  }

  /** The last offset applied (`-1` before any). */
  get offset(): number {
    return this.progress.offset
  }

  /**
   * Folds one record into the state; returns false for a repeat. A throwing `reduce` throws here and
   * leaves state and offset as they were.
   */
  handle(r: Logged<E>): boolean {
    if (r.offset <= this.progress.offset) return false
    const next = this.reduce(this.current.value, r.event)
    this.current.next(next)
    this.progress.advance(r.offset)
    return true
  }

  /**
   * Folds every record of `source` as it comes. A record whose `reduce` throws goes to
   * `onDeadLetter` (by default one line on stderr) and is skipped: the aggregate goes on.
   */
  follow(source: Observable<Logged<E>>, options: { onDeadLetter?: (d: DeadLetter) => void } = {}): Subscription {
    return followLog(source, (r) => this.handle(r), (offset) => this.progress.advance(offset), 'reduce', options.onDeadLetter)
  }

  /** Emits once the aggregate has applied `offset` (see `ReadonlyTable.waitFor`). */
  waitFor(offset: number, options: { timeout?: Duration } = {}): Observable<number> {
    const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, 'waitFor', { allowZero: true })
    return this.progress.waitFor(offset, timeout)
  }

  snapshot(): AggregateSnapshot<S> {
    return { offset: this.progress.offset, state: this.current.value }
  }

  restore(s: AggregateSnapshot<S>): void {
    // The state first: a reader told the offset is reached reads it at once.
    this.current.next(s.state)
    this.progress.reset(s.offset)
  }
}
