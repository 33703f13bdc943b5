import type { Key, Stream, Unkeyed } from './stream.ts'
import { stream } from './stream.ts'

/**
 * Transforms each value. The event time and position are kept; the key is not (re-key after a map
 * with `keyBy`), because `f` may change what the key was computed from.
 *
 * @example
 * pipe(s, map((t: Trip) => t.fare))
 */
export const map =
  <A, B>(f: (a: A) => B) =>
  <K>(s: Stream<A, K>): Stream<B, Unkeyed> =>
    stream({ _tag: 'Map', input: s.node, f })

/** Keeps the values for which `p` holds; keyed streams stay keyed. A type guard narrows the type. */
export function filter<A, B extends A>(p: (a: A) => a is B): <K>(s: Stream<A, K>) => Stream<B, K>
export function filter<A>(p: (a: A) => boolean): <K>(s: Stream<A, K>) => Stream<A, K>
export function filter<A>(p: (a: A) => boolean) {
  return <K>(s: Stream<A, K>): Stream<A, K> => stream({ _tag: 'Filter', input: s.node, f: p })
}

/**
 * Replaces each value by zero or more values, all with the event time of the input. If `f`, or the
 * iterable it returns (a generator), throws, the input goes to dead letters; values the iterable gave
 * before throwing have gone on already.
 */
export const flatMap =
  <A, B>(f: (a: A) => Iterable<B>) =>
  <K>(s: Stream<A, K>): Stream<B, Unkeyed> =>
    stream({ _tag: 'FlatMap', input: s.node, f })

/** Keys the stream: windows, stateful joins and patterns then work per key. */
export const keyBy =
  <A, K extends Key>(f: (a: A) => K) =>
  <K0>(s: Stream<A, K0>): Stream<A, K> =>
    stream({ _tag: 'KeyBy', input: s.node, f })

/** Runs a side effect for each value and passes it on unchanged. */
export const tap =
  <A>(f: (a: A) => void) =>
  <K>(s: Stream<A, K>): Stream<A, K> =>
    stream({ _tag: 'Tap', input: s.node, f })

/**
 * Merges other streams of the same type into this one. The merged watermark is the minimum of the
 * inputs' watermarks.
 */
export const merge =
  <A, K>(...others: readonly Stream<A, K>[]) =>
  (s: Stream<A, K>): Stream<A, K> =>
    stream({ _tag: 'Merge', inputs: [s.node, ...others.map((o) => o.node)] })
