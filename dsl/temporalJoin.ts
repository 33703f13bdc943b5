import type { Change } from './change.ts'
import type { Joined } from './joins.ts'
import { operatorNode, stream, type Key, type NeedsKeyOf, type Stream } from './stream.ts'

export interface TemporalJoinSpec {
  readonly type: 'inner' | 'left'
}

/**
 * Event-time temporal join (Flink's `FOR SYSTEM_TIME AS OF`, Kafka Streams' versioned tables):
 * each event is joined with the version of the table's row for its key that was valid at the
 * event's time. `versions` is a changelog stream of the same pipeline, each change taking effect
 * at its own event time: the row for key `k` as of time `t` is the change of `k` with the greatest
 * time `<= t` (of two at the same time, the later one in the stream), absent if that change is a
 * `delete` or there is none. `inner` drops events whose row was absent then; `left` keeps them with
 * `right: undefined`.
 *
 * An event waits until the watermark (the minimum of both inputs') passes its time, so that every
 * version valid at that time has arrived; results come out in event-time order. An event or a
 * change older than the watermark on arrival is late (`late` side output; a late change is not
 * applied). A version is kept only until the watermark passes the time of the version after it
 * (of a `delete`, its own time), so memory holds the rows' current versions and those newer than
 * the watermark, never the whole history.
 *
 * `tableJoin` differs: it joins each event with the table as it is when the event is processed
 * (as of arrival), at once. See docs/temporal-joins.md.
 *
 * @example
 * const rates = pipe(s, filter(isRate), map((r) => upsert(r.currency, r.rate)))
 * pipe(orders, keyBy((o) => o.currency), temporalJoin(rates), map(({ left: o, right: rate }) => o.amount * rate))
 */
export const temporalJoin =
  <K extends Key, V, T extends 'inner' | 'left' = 'inner'>(versions: Stream<Change<K, V>, unknown>, options: { type?: T } = {}) => {
    const type = options.type ?? 'inner'
    if (type !== 'inner' && type !== 'left') throw new TypeError(`temporalJoin: type must be 'inner' or 'left', got ${JSON.stringify(type)}`)
    const spec: TemporalJoinSpec = { type }
    return <A, KS>(s: Stream<A, KS> & NeedsKeyOf<KS, K, 'temporalJoin'>): Stream<Joined<A, T extends 'left' ? V | undefined : V>, K> =>
      stream(operatorNode('TemporalJoin', `temporalJoin(${type})`, [s.node, versions.node], spec))
  }
