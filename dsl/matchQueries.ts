import type { Stream } from './stream.ts'
import { operatorNode, stream } from './stream.ts'
import { QueryIndex, type QueryId } from '../operators/patterns/queryIndex.ts'

/** An event with the ids of the standing queries it matched. */
export interface QueryHits<A> {
  readonly event: A
  readonly ids: readonly QueryId[]
}

/** Options of `matchQueries`. */
export interface MatchQueriesOptions {
  /** Also pass on events that match no query (with `ids: []`). Default false. */
  readonly keepUnmatched?: boolean
}

/** The plain spec of a `matchQueries` stage (the index itself is live, shared with the caller). */
export interface MatchQueriesSpec {
  readonly index: QueryIndex<any>
  readonly keepUnmatched: boolean
}

/**
 * Tests each event against the standing queries of `index` as they are at the moment the event
 * passes (add and remove queries at any time, also while the stream runs) and emits
 * `{ event, ids }` for the events that match at least one. Keeps the event's time and key, so a
 * keyed stream stays keyed. A throwing query predicate sends the event to dead letters (reason
 * 'user', stage 'matchQueries') for that query and the event still goes to the others.
 *
 * @example
 * pipe(s, matchQueries(alerts), map(({ event, ids }) => ({ symbol: event.symbol, alerts: ids })))
 */
export const matchQueries =
  <A>(index: QueryIndex<A>, options: MatchQueriesOptions = {}) =>
  <K>(s: Stream<A, K>): Stream<QueryHits<A>, K> => {
    if (!(index instanceof QueryIndex)) throw new TypeError('matchQueries: expected a QueryIndex')
    const spec: MatchQueriesSpec = { index, keepUnmatched: options.keepUnmatched ?? false }
    return stream(operatorNode('MatchQueries', 'matchQueries', [s.node], spec))
  }
