import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs'

/**
 * One scheduled piece of work. It is its own Subscription (unsubscribing removes it from the queue)
 * and its own `SchedulerAction`: work running as `this` can call `this.schedule(state, delay)` to
 * run again later, as RxJS's `debounceTime`, `bufferTime` and `timer` do.
 */
class TimerAction<T> extends Subscription implements SchedulerAction<T> {
  /** Virtual time at which it fires. */
  due = 0
  /** Insertion order, the tie-break among timers due at the same time. */
  seq = 0
  /** Position in the clock's heap, -1 when not queued (fired, running or cancelled). */
  index = -1

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
    if (this.index >= 0) this.clock.remove(this)
    this.state = undefined
    super.unsubscribe()
  }
}

const before = (a: TimerAction<unknown>, b: TimerAction<unknown>): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq)

/**
 * A virtual-time RxJS scheduler: `now()` is whatever the clock was advanced to, and scheduled work
 * runs only when `advanceTo` / `flush` reach its due time, never by real waiting.
 *
 * Timers live in a binary heap keyed by (due time, insertion order): scheduling, cancelling and
 * firing cost O(log n), and timers due at the same time fire in the order they were scheduled, so a
 * run is deterministic. (RxJS's `VirtualTimeScheduler` re-sorts its whole queue on every schedule.)
 * Any RxJS time-based operator given this scheduler (`bufferTime`, `debounceTime`, `delay`, `timer`,
 * ...) runs in virtual time. Time never goes backwards: advancing to a past time fires nothing.
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
  private seq = 0
  private readonly heap: TimerAction<any>[] = []

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
    return this.heap.length
  }

  /** Due time of the next timer, or `+Infinity` when none is waiting. */
  get nextDue(): number {
    return this.heap.length > 0 ? this.heap[0].due : Number.POSITIVE_INFINITY
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
    const heap = this.heap
    while (heap.length > 0 && heap[0].due <= t) this.fire()
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
    while (this.heap.length > 0) this.fire()
  }

  private fire(): void {
    const action = this.pop()
    if (action.due > this.time) this.time = action.due
    action.run()
  }

  /** @internal (re)queues an action `delay` ms from now with a fresh insertion number. */
  enqueue(action: TimerAction<any>, delay: number | undefined): void {
    const d = delay !== undefined && delay > 0 ? delay : 0
    action.due = this.time + d
    action.seq = this.seq++
    if (action.index < 0) {
      action.index = this.heap.length
      this.heap.push(action)
      this.up(action.index)
    } else if (!this.up(action.index)) this.down(action.index)
  }

  /** @internal removes a queued action. */
  remove(action: TimerAction<any>): void {
    const heap = this.heap
    const i = action.index
    const last = heap.pop()!
    action.index = -1
    if (last === action) return
    heap[i] = last
    last.index = i
    if (!this.up(i)) this.down(i)
  }

  private pop(): TimerAction<any> {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()!
    top.index = -1
    if (last !== top) {
      heap[0] = last
      last.index = 0
      this.down(0)
    }
    return top
  }

  /** Sifts the action at `i` towards the root; true if it moved. */
  private up(i: number): boolean {
    const heap = this.heap
    const a = heap[i]
    const start = i
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent]
      if (!before(a, p)) break
      heap[i] = p
      p.index = i
      i = parent
    }
    heap[i] = a
    a.index = i
    return i !== start
  }

  private down(i: number): void {
    const heap = this.heap
    const n = heap.length
    const a = heap[i]
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && before(heap[child + 1], heap[child])) child++
      const c = heap[child]
      if (!before(c, a)) break
      heap[i] = c
      c.index = i
      i = child
    }
    heap[i] = a
    a.index = i
  }
}
