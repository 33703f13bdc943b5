import { operatorNode, stream, type Key, type Stream } from './stream.ts'
import { toMillis, type Duration, formatDuration } from './time.ts'

export interface DedupeSpec {
  readonly by: (a: unknown) => Key
  readonly ttl: number
}

/**
 * Drops redelivered events: an event whose id (`by`) was first seen less than `ttl` ago is a repeat
 * and is dropped; the first sighting passes. Time is processing time on the run's scheduler (the
 * virtual clock during replay), because redelivery happens in processing time while a redelivered
 * event keeps its event time. Ids are forgotten `ttl` after they were first seen, so memory is
 * bounded by the ids seen within `ttl`. A throwing `by` sends the event to dead letters.
 *
 * @example
 * pipe(s, dedupe((o: Order) => o.id, '10m'))
 */
export const dedupe = <A>(by: (a: A) => Key, ttl: Duration) => {
  const spec: DedupeSpec = { by: by as (a: unknown) => Key, ttl: toMillis(ttl, 'dedupe') }
  return <K>(s: Stream<A, K>): Stream<A, K> => stream(operatorNode('Dedupe', `dedupe(${formatDuration(spec.ttl)})`, [s.node], spec))
}
