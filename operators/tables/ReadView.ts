import type { Observable, Subscription } from 'rxjs'
import { notAChange, type Change } from '../../dsl/change.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Duration } from '../../dsl/time.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import { followLog, type Logged } from './EventLog.ts'
import { Table, type ReadonlyTable, type TableOptions, type TableSnapshot } from './Table.ts'

/**
 * Turns one domain event into the changes it makes to a read view (none, one or several). It may
 * read the view's current rows, e.g. to update a running total.
 */
export type Projection<E, K extends Key, V> = (
  event: E,
  view: ReadonlyTable<K, V>,
) => Change<K, V> | readonly Change<K, V>[] | undefined

/**
 * A CQRS read view: a table derived from an event log by a projection. Several views can follow one
 * log independently, each at its own pace; each exposes the offset it has applied and
 * `waitFor(offset)`, so a writer can read its own write once the (asynchronous) view has caught up.
 *
 * Every log record advances the view's offset, also one the projection ignores. A record whose
 * offset is not above the applied one is a repeat and is skipped whole, so redelivery is harmless.
 * A throwing projection throws from `handle` and leaves the view unchanged; `follow` sends that
 * record to dead letters instead, and goes on.
 *
 * @example
 * // The view's types are given: the projection reads the view, so they cannot be inferred from it.
 * const balances = new ReadView<Deposit, string, number>((e, v) => upsert(e.account, (v.get(e.account) ?? 0) + e.amount))
 * balances.follow(log.read())
 * balances.waitFor(log.append({ account: 'a', amount: 5 })).subscribe(() => balances.get('a'))
 */
export class ReadView<E, K extends Key, V> implements ReadonlyTable<K, V> {
  private readonly table: Table<K, V>
  readonly changes: Observable<Change<K, V>>

  constructor(
    private readonly project: Projection<E, K, V>,
    options: TableOptions = {},
  ) {
    this.table = new Table<K, V>(options)
    this.changes = this.table.changes
  }

  /** Applies one log record; returns false for a repeat. */
  handle(r: Logged<E>): boolean {
    if (r.offset <= this.table.offset) return false
    const out = this.project(r.event, this.table)
    // Checked before any is applied: a projection returning something else (an op of 'update')
    // fails like a throwing one, leaving the view as it was, instead of being read as a delete.
    if (out !== undefined && isChangeList(out)) {
      for (const c of out) checkChange(c)
      for (const c of out) this.table.applyUnchecked(c.op, c.key, c.after, r.offset)
    } else if (out !== undefined) {
      checkChange(out)
      this.table.applyUnchecked(out.op, out.key, out.after, r.offset)
    }
    this.table.advance(r.offset)
    return true
  }

  /**
   * Applies every record of `source` as it comes. A record whose projection throws goes to
   * `onDeadLetter` (by default one line on stderr) and is skipped: the view goes on.
   */
  follow(source: Observable<Logged<E>>, options: { onDeadLetter?: (d: DeadLetter) => void } = {}): Subscription {
    return followLog(source, (r) => this.handle(r), (offset) => this.table.advance(offset), 'projection', options.onDeadLetter)
  }

  get(key: K): V | undefined {
    return this.table.get(key)
  }

  has(key: K): boolean {
    return this.table.has(key)
  }

  get size(): number {
    return this.table.size
  }

  entries(): Array<[K, V]> {
    return this.table.entries()
  }

  get offset(): number {
    return this.table.offset
  }

  waitFor(offset: number, options?: { timeout?: Duration }): Observable<number> {
    return this.table.waitFor(offset, options)
  }

  snapshot(): TableSnapshot<K, V> {
    return this.table.snapshot()
  }

  restore(s: TableSnapshot<K, V>): void {
    this.table.restore(s)
  }
}

const checkChange = (c: unknown): void => {
  const why = notAChange(c)
  if (why !== undefined) throw new TypeError(`projection: ${why}`)
}

const isChangeList = <K, V>(x: Change<K, V> | readonly Change<K, V>[]): x is readonly Change<K, V>[] => Array.isArray(x)
