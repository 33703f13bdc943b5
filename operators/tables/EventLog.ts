import { Observable, Subject, type Subscription } from 'rxjs'
import { deadLetter, errorMessage, type DeadLetter } from '../../dsl/sides.ts'
import { warnDeadLetter } from '../core/context.ts'

/** One record of an append-only log: the event and its offset (its position, from 0). */
export interface Logged<E> {
  readonly offset: number
  readonly event: E
}

/**
 * An append-only, in-memory log of domain events: the write side of event sourcing and CQRS.
 * `append` returns the new record's offset, which a writer hands to `waitFor` on a read view to
 * read its own write.
 *
 * @example
 * const log = new EventLog<Deposit>()
 * const at = log.append({ account: 'a', amount: 10 }) // 0
 * view.follow(log.read())
 * view.waitFor(at).subscribe(() => view.get('a'))
 */
export class EventLog<E> implements Iterable<Logged<E>> {
  private readonly records: Logged<E>[] = []
  private readonly live = new Subject<Logged<E>>()

  /** Records appended while live readers were being given an earlier one, in order. */
  private pending: Logged<E>[] = []
  private delivering = false

  /**
   * Appends `event` and returns its offset; live readers see it at once, or, when it is appended
   * by a reader while an earlier record is being delivered, right after every reader has had that
   * one: every reader sees the records in offset order.
   */
  append(event: E): number {
    const r: Logged<E> = { offset: this.records.length, event }
    this.records.push(r)
    if (this.delivering) {
      this.pending.push(r)
      return r.offset
    }
    this.delivering = true
    try {
      this.live.next(r)
      for (let i = 0; i < this.pending.length; i++) this.live.next(this.pending[i])
    } finally {
      // Only appends made during a delivery use the queue: an ordinary append allocates nothing.
      if (this.pending.length > 0) this.pending = []
      this.delivering = false
    }
    return r.offset
  }

  get length(): number {
    return this.records.length
  }

  /** The records from offset `from` on, then every later append: what a view follows. */
  read(from = 0): Observable<Logged<E>> {
    return new Observable<Logged<E>>((subscriber) => {
      // Re-read the length each step: a reader appending while it catches up must not miss its
      // own record, and the live subscription starts only after the catch-up, so nothing repeats.
      let i = Math.max(0, from)
      while (i < this.records.length && !subscriber.closed) subscriber.next(this.records[i++])
      // A `from` past the end: the live records before it are not this reader's either.
      return this.live.subscribe({
        next: (r) => {
          if (r.offset >= from) subscriber.next(r)
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      })
    })
  }

  [Symbol.iterator](): Iterator<Logged<E>> {
    return this.records[Symbol.iterator]()
  }
}

/**
 * Follows a log for a read view or an aggregate: each record goes through `handle`. One whose user
 * function (projection, reducer) throws goes to `onDeadLetter` (by default one line on stderr, as a
 * run's dead letters) and is `skip`ped past, so the follower goes on and `waitFor` its offset still
 * resolves, instead of the error escaping the subscription.
 */
export function followLog<E>(
  source: Observable<Logged<E>>,
  handle: (r: Logged<E>) => boolean,
  skip: (offset: number) => void,
  stage: string,
  onDeadLetter: (d: DeadLetter) => void = warnDeadLetter,
): Subscription {
  return source.subscribe((r) => {
    try {
      handle(r)
    } catch (e) {
      onDeadLetter(deadLetter('user', stage, r.offset, errorMessage(e), r.event))
      skip(r.offset)
    }
  })
}
