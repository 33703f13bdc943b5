import type { Change } from './change.ts'
import { operatorNode, stream, type Key, type NeedsKeyOf, type Stream } from './stream.ts'
import { toMillis, type Duration, formatDuration } from './time.ts'
import type { ReadonlyTable } from '../operators/tables/Table.ts'

/** One joined result: the left and the right side. */
export interface Joined<A, B> {
  readonly left: A
  readonly right: B
}

/** `inner`: matches only; `left`: also unmatched left sides; `outer`: also unmatched right sides. */
export type JoinType = 'inner' | 'left' | 'outer'

/** The result type of a join of `A` with `B` of type `T`: a missing side is `undefined`. */
export type JoinedAs<A, B, T extends JoinType> = T extends 'inner'
  ? Joined<A, B>
  : T extends 'left'
    ? Joined<A, B | undefined>
    : Joined<A, B> | Joined<A, undefined> | Joined<undefined, B>

const JOIN_TYPES: readonly JoinType[] = ['inner', 'left', 'outer']

const checkType = (who: string, type: string, allowed: readonly string[]): void => {
  if (!allowed.includes(type))
    throw new TypeError(`${who}: type must be ${allowed.map((t) => `'${t}'`).join(' or ')}, got ${JSON.stringify(type)}`)
}

export interface WindowJoinSpec {
  readonly within: number
  readonly type: JoinType
}

/**
 * Interval join of two keyed streams on event time: pairs `(a, b)` with equal key and
 * `|a.time - b.time| <= within`, each pair emitted once, as soon as its second side arrives, with
 * time `max(a.time, b.time)`. `left` / `outer` also emit each unmatched side (with its own time)
 * once the watermark (the minimum of both inputs') passes `time + within`. Both inputs must come
 * from the same pipeline source (split one log with `filter`) and have the same key type.
 *
 * State older than `W - within` is freed, so memory is bounded by the events within the join
 * interval behind the watermark. An event older than the watermark on arrival is late (`late`
 * side output). The output watermark trails the input one by `within`, so no joined result is
 * late downstream.
 *
 * @example
 * const clicks = pipe(s, filter(isClick), keyBy((e) => e.user))
 * const views = pipe(s, filter(isView), keyBy((e) => e.user))
 * pipe(clicks, windowJoin(views, { within: '5m', type: 'left' }))
 */
export const windowJoin =
  <B, K extends Key, T extends JoinType = 'inner'>(right: Stream<B, K>, options: { within: Duration; type?: T }) => {
    const type = options.type ?? 'inner'
    checkType('windowJoin', type, JOIN_TYPES)
    const spec: WindowJoinSpec = { within: toMillis(options.within, 'windowJoin', { allowZero: true }), type }
    return <A, KL>(left: Stream<A, KL> & NeedsKeyOf<KL, K, 'windowJoin'>): Stream<JoinedAs<A, B, T>, K> =>
      stream(operatorNode('WindowJoin', `windowJoin(${type}, within ${formatDuration(spec.within)})`, [left.node, right.node], spec))
  }

/** A table to enrich from: a standalone `Table` / read view, or a changelog stream of the same pipeline. */
export type TableSource<K extends Key, V> = ReadonlyTable<K, V> | Stream<Change<K, V>, unknown>

export interface TableJoinSpec {
  readonly type: 'inner' | 'left'
  /** The standalone table; `undefined` when the table is the operator's second input. */
  readonly table: ReadonlyTable<Key, unknown> | undefined
}

/**
 * Stream-table enrichment: each event is joined with the table's value for its key at the moment
 * the event is processed (`inner` drops events whose key is absent; `left` keeps them with
 * `right: undefined`). The table is a standalone `Table` or read view (its value is read on each
 * event), or a changelog stream of the same pipeline (then the changes and events are processed in
 * the order they reach the join, which is source order unless a branch has an async stage such as
 * `lookupJoin` or `asyncMap`: that branch's elements arrive when their work is done, and meet the
 * table as it is then; the output watermark is the minimum of both inputs'). For the table's value
 * at the event's time instead, see `temporalJoin` (docs/temporal-joins.md).
 *
 * @example
 * pipe(flights, keyBy((f) => f.origin), tableJoin(airports, { type: 'left' }))
 */
export const tableJoin =
  <K extends Key, V, T extends 'inner' | 'left' = 'inner'>(table: TableSource<K, V>, options: { type?: T } = {}) => {
    const type = options.type ?? 'inner'
    checkType('tableJoin', type, ['inner', 'left'])
    const changelog = 'node' in table ? table.node : undefined
    const spec: TableJoinSpec = { type, table: changelog ? undefined : (table as ReadonlyTable<Key, unknown>) }
    return <A, KS>(s: Stream<A, KS> & NeedsKeyOf<KS, K, 'tableJoin'>): Stream<Joined<A, T extends 'left' ? V | undefined : V>, K> =>
      changelog
        ? stream(operatorNode('TableJoin', `tableJoin(${type}, changelog)`, [s.node, changelog], spec))
        : stream(operatorNode('TableJoin', `tableJoin(${type}, table)`, [s.node], spec))
  }

export interface LookupJoinSpec {
  readonly fetch: (key: Key) => Promise<unknown>
  readonly concurrency: number
  readonly cache: { readonly max: number; readonly ttl: number } | undefined
  readonly type: 'inner' | 'left'
}

export interface LookupJoinOptions<T extends 'inner' | 'left'> {
  /** Lookups in flight at once (default 8). */
  readonly concurrency?: number
  /** Keep up to `max` results (LRU), each for `ttl` of processing time; none cached without it. */
  readonly cache?: { readonly max: number; readonly ttl: Duration }
  /** `inner` (default) drops events whose lookup gave `undefined`; `left` keeps them. */
  readonly type?: T
}

/**
 * Enriches each event from an external async store: `fetch(key)` with at most `concurrency` lookups
 * in flight (concurrent lookups of one key share one call), results cached by key (LRU with `max`
 * entries, each kept `ttl` of scheduler time). Output is in input order, and watermarks never
 * overtake pending lookups. Each event waiting for its result holds one unit of the source's credit,
 * so a slow store slows the source down instead of queueing without bound. A failed lookup sends the
 * event to dead letters (reason `'lookup'`); the run goes on.
 *
 * @example
 * pipe(orders, keyBy((o) => o.customer), lookupJoin((id: string) => db.customer(id), { concurrency: 16, cache: { max: 10_000, ttl: '1m' } }))
 */
export const lookupJoin =
  <K extends Key, B, T extends 'inner' | 'left' = 'inner'>(fetch: (key: K) => Promise<B | undefined>, options: LookupJoinOptions<T> = {}) => {
    const type = options.type ?? 'inner'
    checkType('lookupJoin', type, ['inner', 'left'])
    const concurrency = options.concurrency ?? 8
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new TypeError(`lookupJoin: concurrency must be a positive integer, got ${concurrency}`)
    let cache: LookupJoinSpec['cache']
    if (options.cache !== undefined) {
      const { max } = options.cache
      if (!Number.isInteger(max) || max < 1) throw new TypeError(`lookupJoin: cache.max must be a positive integer, got ${max}`)
      cache = { max, ttl: toMillis(options.cache.ttl, 'lookupJoin cache.ttl') }
    }
    const spec: LookupJoinSpec = { fetch: fetch as (key: Key) => Promise<unknown>, concurrency, cache, type }
    const label = `lookupJoin(${type}, concurrency ${concurrency}${cache ? `, cache ${cache.max}` : ''})`
    return <A, KS>(s: Stream<A, KS> & NeedsKeyOf<KS, K, 'lookupJoin'>): Stream<Joined<A, T extends 'left' ? B | undefined : B>, K> =>
      stream(operatorNode('LookupJoin', label, [s.node], spec))
  }

export interface TableTableJoinSpec {
  readonly type: JoinType
  readonly foreignKey: ((left: unknown) => Key | null | undefined) | undefined
}

/**
 * Materialized view maintenance: joins two changelogs (tables) and emits the changelog of the joined
 * view, keyed by the left key. Every change on one side is joined with the latest state of the
 * other; the output says how the joined row for that key changed (`upsert` with `before` and
 * `after`, or `delete` with `before`), so applying it to an empty table gives, after every prefix
 * of the input, exactly the join of the two input tables. A row exists for `inner` when both sides
 * do, for `left` when the left does, for `outer` when either does. Repeats (a change whose `offset`
 * is not above its side's last applied offset) are ignored.
 *
 * With `foreignKey`, the right table is keyed by a field of the left's value (many left rows to one
 * right row; `inner` or `left`): a right change updates every left row that points at it. A left
 * row whose foreign key is `null` or `undefined` points at no right row (a nullable column); a
 * `foreignKey` that throws or gives something else sends the change to dead letters. An input that
 * is not a change (`op` other than `'upsert'` or `'delete'`) goes to dead letters too.
 *
 * @example
 * pipe(orders, tableTableJoin(customers, { type: 'left', foreignKey: (o: Order) => o.customerId }))
 */
export function tableTableJoin<K extends Key, VR, T extends JoinType = 'inner'>(
  right: Stream<Change<K, VR>, unknown>,
  options?: { type?: T },
): <VL>(left: Stream<Change<K, VL>, unknown>) => Stream<Change<K, JoinedAs<VL, VR, T>>, K>
export function tableTableJoin<KR extends Key, VR, VL, T extends 'inner' | 'left' = 'inner'>(
  right: Stream<Change<KR, VR>, unknown>,
  options: { type?: T; foreignKey: (left: VL) => KR | null | undefined },
): <K extends Key>(left: Stream<Change<K, VL>, unknown>) => Stream<Change<K, JoinedAs<VL, VR, T>>, K>
export function tableTableJoin(
  right: Stream<Change<any, unknown>, unknown>,
  options: { type?: JoinType; foreignKey?: (left: any) => Key | null | undefined } = {},
): (left: Stream<Change<any, unknown>, unknown>) => Stream<any, any> {
  const type = options.type ?? 'inner'
  checkType('tableTableJoin', type, options.foreignKey ? ['inner', 'left'] : JOIN_TYPES)
  const spec: TableTableJoinSpec = { type, foreignKey: options.foreignKey }
  const label = `tableTableJoin(${type}${options.foreignKey ? ', foreign key' : ''})`
  return (left) => stream(operatorNode('TableTableJoin', label, [left.node, right.node], spec))
}
