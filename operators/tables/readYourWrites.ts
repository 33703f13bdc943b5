import { Observable, asyncScheduler, type SchedulerLike } from 'rxjs'

/** Raised by `waitFor` when the view has not caught up within the timeout. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly offset: number,
    readonly applied: number,
    readonly timeout: number,
  ) {
    super(`waitFor: offset ${offset} not applied within ${timeout}ms (applied: ${applied})`)
    this.name = 'WaitTimeoutError'
  }
}

interface Waiter {
  readonly offset: number
  readonly notify: (applied: number) => void
}

/**
 * The log offset a table or view has applied, and the readers waiting for it to reach theirs.
 * Offsets are non-negative and only move forward; `-1` means nothing applied yet.
 */
export class Progress {
  private applied = -1
  /** Sorted by offset, so an advance notifies a prefix and stops. */
  private waiters: Waiter[] = []

  constructor(private readonly scheduler: SchedulerLike = asyncScheduler) {}

  /** The last offset applied, `-1` before any. */
  get offset(): number {
    return this.applied
  }

  /** Records that everything up to `offset` is applied; a smaller offset changes nothing. */
  advance(offset: number): void {
    if (offset <= this.applied) return
    this.applied = offset
    this.notify()
  }

  /** Notifies the readers waiting for an offset up to the applied one. */
  private notify(): void {
    const offset = this.applied
    if (this.waiters.length === 0 || this.waiters[0].offset > offset) return
    let n = 0
    while (n < this.waiters.length && this.waiters[n].offset <= offset) n++
    const due = this.waiters.splice(0, n)
    for (const w of due) w.notify(offset)
  }

  /**
   * Emits the applied offset once it is `>= offset`, then completes: synchronously when already
   * there, otherwise at the very moment the offset is applied. With `timeout` (ms on the scheduler)
   * it errors with `WaitTimeoutError` instead when that much time passes first.
   */
  waitFor(offset: number, timeout?: number): Observable<number> {
    return new Observable<number>((subscriber) => {
      if (this.applied >= offset) {
        subscriber.next(this.applied)
        subscriber.complete()
        return
      }
      const waiter: Waiter = {
        offset,
        notify: (applied) => {
          timer?.unsubscribe()
          subscriber.next(applied)
          subscriber.complete()
        },
      }
      let lo = 0
      let hi = this.waiters.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (this.waiters[mid].offset <= offset) lo = mid + 1
        else hi = mid
      }
      this.waiters.splice(lo, 0, waiter)
      const timer =
        timeout === undefined
          ? undefined
          : this.scheduler.schedule(() => {
              this.drop(waiter)
              subscriber.error(new WaitTimeoutError(offset, this.applied, timeout))
            }, timeout)
      return () => {
        timer?.unsubscribe()
        this.drop(waiter)
      }
    })
  }

  /** Restores the offset taken from a snapshot; readers waiting for an offset it covers are notified. */
  reset(offset: number): void {
    this.applied = offset
    this.notify()
  }

  private drop(w: Waiter): void {
    const i = this.waiters.indexOf(w)
    if (i >= 0) this.waiters.splice(i, 1)
  }
}
