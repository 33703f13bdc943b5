import { Subject, asyncScheduler, type Observable, type SchedulerLike, type Subscription } from 'rxjs'
import type { Change } from '../../dsl/change.ts'
import type { Key } from '../../dsl/stream.ts'
import { toMillis, type Duration } from '../../dsl/time.ts'
import { Progress } from './readYourWrites.ts'

/** What readers of a table or read view may do: query, follow its changelog, wait for an offset. */
export interface ReadonlyTable<K extends Key, V> {
  /** The current value for `key`, or `undefined`. */
  get(key: K): V | undefined
  has(key: K): boolean
  readonly size: number
  /** A snapshot of the rows, in first-insertion order. */
  entries(): Array<[K, V]>
  /** The last log offset applied (`-1` before any). */
  readonly offset: number
  /**
   * The table's own changelog: every change that altered it, with `before` (the replaced value)
   * and `after`, and the offset it came from. Hot: a subscriber sees changes from then on.
   */
  readonly changes: Observable<Change<K, V>>
  /**
   * Emits the applied offset as soon as it is `>= offset` (synchronously if it already is), then
   * completes: a writer that appended at `offset` can then read its own write. With `timeout`, errors
   * with `WaitTimeoutError` if the view has not caught up in that much scheduler time.
   */
  waitFor(offset: number, options?: { timeout?: Duration }): Observable<number>
}

export interface TableOptions {
  /** The clock for `waitFor` timeouts (the virtual clock in replays); default: RxJS's asyncScheduler. */
  readonly scheduler?: SchedulerLike
}

/** A table's state as plain JSON-serializable data. */
export interface TableSnapshot<K, V> {
  readonly offset: number
  readonly rows: Array<[K, V]>
}

/**
 * A materialized table: the latest value per key of a changelog (`upsert` sets, `delete` removes).
 *
 * Applying is idempotent under at-least-once redelivery: a change whose `offset` is not above the
 * offset already applied is a repeat and is ignored, so a replayed log leaves the table as one clean
 * delivery would. Changes without an offset are always applied (last writer wins).
 *
 * @example
 * const t = Table.from([upsert('a', 1, undefined, 0), upsert('b', 2, undefined, 1), remove('a', undefined, 2)])
 * t.get('b') // 2
 * t.has('a') // false
 * t.offset // 2
 */
export class Table<K extends Key, V> implements ReadonlyTable<K, V> {
  private readonly rows = new Map<K, V>()
  private readonly progress: Progress
  private readonly subject = new Subject<Change<K, V>>()
  readonly changes: Observable<Change<K, V>> = this.subject.asObservable()

  constructor(options: TableOptions = {}) {
    this.progress = new Progress(options.scheduler ?? asyncScheduler)
  }

  /** A table holding the result of applying `changes` in order. */
  static from<K extends Key, V>(changes: Iterable<Change<K, V>>, options?: TableOptions): Table<K, V> {
    const t = new Table<K, V>(options)
    for (const c of changes) t.apply(c)
    return t
  }

  get(key: K): V | undefined {
    return this.rows.get(key)
  }

  has(key: K): boolean {
    return this.rows.has(key)
  }

  get size(): number {
    return this.rows.size
  }

  entries(): Array<[K, V]> {
    return [...this.rows]
  }

  get offset(): number {
    return this.progress.offset
  }

  waitFor(offset: number, options: { timeout?: Duration } = {}): Observable<number> {
    const timeout = options.timeout === undefined ? undefined : toMillis(options.timeout, 'waitFor', { allowZero: true })
    return this.progress.waitFor(offset, timeout)
  }

  /**
   * Applies one change and returns the change it made to the table (`before` filled from the table,
   * `offset` kept), or `undefined` when nothing changed: a repeat (offset already applied), a
   * delete of an absent key, or an upsert of the value the row holds (equal as plain data). The result is also emitted on `changes`. The offset advances even when
   * the change was a no-op, so `waitFor` sees it.
   */
  apply(change: Change<K, V>): Change<K, V> | undefined {
    const offset = change.offset
    if (offset !== undefined && offset <= this.progress.offset) return undefined
    const out = this.applyUnchecked(change.op, change.key, change.after, offset)
    if (offset !== undefined) this.progress.advance(offset)
    return out
  }

  /**
   * Marks `offset` as applied without a change: a view skipping a log record that does not concern
   * it still has to move on, or a reader waiting for that record would wait forever.
   */
  advance(offset: number): void {
    this.progress.advance(offset)
  }

  /** Applies every change of `source` as it arrives; unsubscribe to stop following. */
  follow(source: Observable<Change<K, V>>): Subscription {
    return source.subscribe((c) => this.apply(c))
  }

  snapshot(): TableSnapshot<K, V> {
    return { offset: this.progress.offset, rows: [...this.rows] }
  }

  /** Replaces the state with a snapshot (no change is emitted). */
  restore(s: TableSnapshot<K, V>): void {
    this.rows.clear()
    for (const [k, v] of s.rows) this.rows.set(k, v)
    this.progress.reset(s.offset)
  }

  /**
   * Sets or removes one row without the offset check: for views applying several changes of one
   * log record before advancing to its offset.
   */
  applyUnchecked(op: 'upsert' | 'delete', key: K, after: V | undefined, offset: number | undefined): Change<K, V> | undefined {
    const had = this.rows.has(key)
    if (op === 'delete' && !had) return undefined
    // An upsert that leaves the row as it was alters nothing: no changelog entry, as for a delete
    // of an absent key (the offset still advances, in `apply`).
    if (op === 'upsert' && had && sameValue(this.rows.get(key), after)) return undefined
    const out: { op: 'upsert' | 'delete'; key: K; before?: V; after?: V; offset?: number } = { op, key }
    if (had) out.before = this.rows.get(key)
    if (op === 'upsert') {
      out.after = after
      this.rows.set(key, after as V)
    } else this.rows.delete(key)
    if (offset !== undefined) out.offset = offset
    if (this.subject.observed) this.subject.next(out)
    return out
  }
}

/**
 * Equal as plain data: the same primitive (`Object.is`), or arrays / plain objects with equal
 * elements and own keys. Anything else (a Date, a Map, a class instance) only equals itself, so an
 * upsert of one always counts as a change.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b) || !plain(a) || !plain(b)) return false
  // Counted with for-in rather than Object.keys: this runs on every upsert of an existing row.
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  let n = 0
  for (const k in x) {
    if (!hasOwn.call(x, k)) continue
    if (!hasOwn.call(y, k) || !sameValue(x[k], y[k])) return false
    n++
  }
  for (const k in y) if (hasOwn.call(y, k)) n--
  return n === 0
}

const hasOwn = Object.prototype.hasOwnProperty

/** An object literal's kind of object (or one made with `Object.create(null)`). */
const plain = (o: object): boolean => {
  const proto = Object.getPrototypeOf(o)
  return proto === Object.prototype || proto === null
}
