import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs'
import { MinHeap } from '../operators/core/MinHeap.ts'

/**
 * One scheduled piece of work. It is its own Subscription (unsubscribing cancels it) and its own
 * `SchedulerAction`: work running as `this` can call `this.schedule(state, delay)` to run again
 * later, as RxJS's `debounceTime`, `bufferTime` and `timer` do.
 */
class TimerAction<T> extends Subscription implements SchedulerAction<T> {
  /**
   * Insertion number of its live queue entry, or -1 when not queued (fired, running or cancelled).
   * A queue entry carrying another number is stale: the action was rescheduled or cancelled since.
   */
  seq = -1

  constructor(
    private readonly clock: VirtualClock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
    private state: T | undefined,
  ) {
    super()
  }

  schedule(state?: T, delay?: number): Subscription {
    if (this.closed) return this
    this.state = state
    this.clock.enqueue(this, delay)
    return this
  }

  run(): void {
    this.work.call(this, this.state)
  }

  override unsubscribe(): void {
    if (this.closed) return
    if (this.seq >= 0) this.clock.forget(this)
    this.state = undefined
    super.unsubscribe()
  }
}

/**
 * A virtual-time RxJS scheduler: `now()` is whatever the clock was advanced to, and scheduled work
 * runs only when `advanceTo` / `flush` reach its due time, never by real waiting.
 *
 * Timers live in a binary heap keyed by (due time, insertion order): scheduling and firing cost
 * O(log n), cancelling O(1), and timers due at the same time fire in the order they were scheduled,
 * so a run is deterministic. (RxJS's `VirtualTimeScheduler` re-sorts its whole queue on every
 * schedule.) Any RxJS time-based operator given this scheduler (`bufferTime`, `debounceTime`,
 * `delay`, `timer`, ...) runs in virtual time. Time never goes backwards: advancing to a past time
 * fires nothing.
 *
 * @example
 * const clock = new VirtualClock(0)
 * const seen: number[] = []
 * of(1, 2, 3).pipe(delay(100, clock)).subscribe((x) => seen.push(x))
 * clock.advanceTo(99)  // seen: []
 * clock.advanceTo(100) // seen: [1, 2, 3]
 */
export class VirtualClock implements SchedulerLike {
  private time: number
  private nextSeq = 0
  /** Timers by (due time, insertion number); an entry whose number is not its action's is stale. */
  private readonly heap = new MinHeap<TimerAction<any>>()
  /** Queued entries that are not stale. */
  private live = 0

  /** @param start the initial virtual time (ms since the epoch, or any origin you like). */
  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new TypeError(`VirtualClock: start must be a finite number, got ${start}`)
    this.time = start
  }

  /** The current virtual time. */
  now(): number {
    return this.time
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.live
  }

  /** Due time of the next timer, or `+Infinity` when none is waiting. */
  get nextDue(): number {
    this.dropStale()
    return this.heap.peek()
  }

  /**
   * Schedules `work` to run `delay` ms of virtual time from now (a negative or missing delay means
   * now: it runs at the next `advanceTo`/`flush`, after timers already due at this time).
   */
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    const action = new TimerAction<T>(this, work, state)
    this.enqueue(action, delay)
    return action
  }

  /**
   * Moves virtual time to `t`, first running every timer due at or before `t` in (due time,
   * insertion) order, timers scheduled by those timers included; `now()` is each timer's due time
   * while it runs. An exception thrown by a timer propagates, leaving the other timers queued.
   */
  advanceTo(t: number): void {
    // Nothing queued at or before `t`, stale entries included: the common case in a replay, where
    // most records arrive with no timer due.
    if (this.heap.peek() > t) {
      if (t > this.time) this.time = t
      return
    }
    for (;;) {
      this.dropStale()
      // An empty heap peeks +Infinity, which is not after t = +Infinity: stop on size too.
      if (this.heap.size === 0 || this.heap.peek() > t) break
      this.fire()
    }
    if (t > this.time) this.time = t
  }

  /** `advanceTo(now() + d)`. */
  advanceBy(d: number): void {
    this.advanceTo(this.time + d)
  }

  /**
   * Runs every timer until none is left, advancing time to each one's due time. A timer that
   * reschedules itself forever (`interval`) makes this loop forever: use `advanceTo` for those.
   */
  flush(): void {
    for (;;) {
      this.dropStale()
      if (this.heap.size === 0) break
      this.fire()
    }
  }

  /** Runs the (live) top entry. */
  private fire(): void {
    const due = this.heap.peek()
    const action = this.heap.pop()
    action.seq = -1
    this.live--
    if (due > this.time) this.time = due
    action.run()
  }

  /** Pops stale entries off the top, so that the top is live (or the heap empty). */
  private dropStale(): void {
    const heap = this.heap
    while (heap.size > 0 && heap.peekItem()!.seq !== heap.peekTie()) heap.pop()
  }

  /** @internal (re)queues an action `delay` ms from now, with a fresh insertion number. */
  enqueue(action: TimerAction<any>, delay: number | undefined): void {
    // A queued action's old entry goes stale; it is skipped when it reaches the top.
    if (action.seq >= 0) this.live--
    const seq = this.nextSeq++
    action.seq = seq
    this.live++
    this.heap.push(this.time + (delay !== undefined && delay > 0 ? delay : 0), seq, action)
    this.compactIfStale()
  }

  /** @internal drops a queued action (its entry goes stale). */
  forget(action: TimerAction<any>): void {
    action.seq = -1
    this.live--
    this.compactIfStale()
  }

  /** Rebuilds the heap without stale entries once they outnumber live ones, so cancelled timers cannot pile up. */
  private compactIfStale(): void {
    const n = this.heap.size
    if (n < 1024 || this.live * 2 > n) return
    this.heap.retain((action, seq) => action.seq === seq)
  }
}
