/**
 * What a window computes: aggregators (`count`, `sum`, `min`, `max`, `mean`, fp-ts monoids, or a
 * user's `{ init, add, merge, result }`), alone or as a record of several. Plain values: the window
 * operator interprets them, and the property suites fold the same definitions by brute force.
 */
import type { Monoid } from 'fp-ts/lib/Monoid.js'

/**
 * A user-defined aggregation over the events of one window.
 *
 * - `init()` returns a fresh accumulator (called once per window, so it may return a new mutable object);
 * - `add(acc, a)` returns the accumulator with `a` added; it may update `acc` in place and return it;
 * - `merge(x, y)` (optional) combines two accumulators of disjoint event sets; it may update `x` (not
 *   `y`) in place, and `merge(init(), x)` must equal `x`. Session windows need it, because an event
 *   that bridges two sessions merges them (into a fresh accumulator, then the event is added, as in
 *   Flink's merging windows);
 * - `result(acc)` is the window's value. It must not return `acc` itself, or share with it parts that
 *   `add` or `merge` update in place: results are kept (the `before` of an `'updates'` changelog) and
 *   handed on, and must not change afterwards.
 *
 * For checkpoints, accumulators should be plain JSON data. An `add` or `merge` that throws sends the
 * event to dead letters (reason `'user'`, stage `'aggregate'`) and the event counts nowhere; it must
 * not update its accumulator before throwing. An event can meet several `add`s: one per field of a
 * record, one per window it joins (hopping, sliding). Every one runs before any accumulator is
 * replaced, so when one throws, the others are undone too, provided they returned new accumulators:
 * an update made in place cannot be undone.
 *
 * @example
 * const distinctOrigins: Aggregator<Flight, string[], number> = {
 *   init: () => [],
 *   add: (acc, f) => (acc.includes(f.origin) ? acc : [...acc, f.origin]),
 *   merge: (x, y) => [...new Set([...x, ...y])],
 *   result: (acc) => acc.length,
 * }
 */
export interface Aggregator<A, Acc, R> {
  readonly init: () => Acc
  readonly add: (acc: Acc, a: A) => Acc
  readonly merge?: (x: Acc, y: Acc) => Acc
  readonly result: (acc: Acc) => R
}

/** An aggregator with `merge`: what session windows need. */
export interface MergeableAggregator<A, Acc, R> extends Aggregator<A, Acc, R> {
  readonly merge: (x: Acc, y: Acc) => Acc
}

/**
 * The two-phase form of a built-in aggregator: `input(a)` runs the user's function (and is the only
 * part that can throw), `step(acc, x)` folds its result in. The window operator reads an event once,
 * then folds it into every window it belongs to, and a record of built-ins reads every field before
 * touching any accumulator, so a throwing `f` leaves no window half-updated.
 */
export interface Staged<A, X, Acc> {
  /** Which built-in this is (`count`, `sum`, ...): what a checkpoint records of the aggregation's state. */
  readonly name: string
  readonly input: ((a: A) => X) | undefined
  readonly step: (acc: Acc, x: X) => Acc
}

/** The built-ins' two-phase form lives under this property; `add` stays the public contract. */
export const STAGED = '_staged'

type BuiltIn<A, X, Acc, R> = MergeableAggregator<A, Acc, R> & { readonly [STAGED]: Staged<A, X, Acc> }

const builtIn = <A, X, Acc, R>(
  name: string,
  input: ((a: A) => X) | undefined,
  step: (acc: Acc, x: X) => Acc,
  init: () => Acc,
  merge: (x: Acc, y: Acc) => Acc,
  result: (acc: Acc) => R,
): BuiltIn<A, X, Acc, R> => ({
  init,
  add: input === undefined ? (acc, _a) => step(acc, undefined as X) : (acc, a) => step(acc, input(a)),
  merge,
  result,
  [STAGED]: { name, input, step },
})

const identity = <X>(x: X): X => x
const plus = (x: number, y: number): number => x + y

/**
 * The number of events in the window.
 *
 * @example
 * pipe(s, keyBy((f: Flight) => f.origin), window(tumbling('1h')), aggregate(count))
 */
export const count: MergeableAggregator<unknown, number, number> = builtIn<unknown, undefined, number, number>(
  'count',
  undefined,
  (acc) => acc + 1,
  () => 0,
  plus,
  identity,
)

/**
 * The sum of `f` over the window's events (floating point, summed in arrival order).
 *
 * @example
 * aggregate(sum((f: Flight) => f.distance))
 */
export const sum = <A>(f: (a: A) => number): MergeableAggregator<A, number, number> =>
  builtIn<A, number, number, number>('sum', f, plus, () => 0, plus, identity)

/**
 * The smallest `f` over the window's events (`+Infinity` for none, which a window never has).
 *
 * @example
 * aggregate(min((f: Flight) => f.delay))
 */
export const min = <A>(f: (a: A) => number): MergeableAggregator<A, number, number> => {
  const lower = (x: number, y: number) => (y < x ? y : x)
  return builtIn<A, number, number, number>('min', f, lower, () => Number.POSITIVE_INFINITY, lower, identity)
}

/**
 * The largest `f` over the window's events (`-Infinity` for none, which a window never has).
 *
 * @example
 * aggregate(max((f: Flight) => f.delay))
 */
export const max = <A>(f: (a: A) => number): MergeableAggregator<A, number, number> => {
  const upper = (x: number, y: number) => (y > x ? y : x)
  return builtIn<A, number, number, number>('max', f, upper, () => Number.NEGATIVE_INFINITY, upper, identity)
}

/**
 * The arithmetic mean of `f` over the window's events: `sum / count`. The accumulator is a
 * `[sum, count]` pair updated in place, so adding an event allocates nothing.
 *
 * @example
 * aggregate({ n: count, avgDelay: mean((f: Flight) => f.delay) })
 */
export const mean = <A>(f: (a: A) => number): MergeableAggregator<A, [number, number], number> =>
  builtIn<A, number, [number, number], number>(
    'mean',
    f,
    (acc, x) => {
      acc[0] += x
      acc[1] += 1
      return acc
    },
    () => [0, 0],
    (x, y) => {
      x[0] += y[0]
      x[1] += y[1]
      return x
    },
    (acc) => (acc[1] === 0 ? Number.NaN : acc[0] / acc[1]),
  )

/**
 * Adapts an fp-ts `Monoid<M>` to an aggregator: each event is mapped by `f` (identity when omitted)
 * and concatenated, starting from `M.empty`; sessions merge with `M.concat`. A bare `Monoid` given
 * to `aggregate` means `fromMonoid(M)`.
 *
 * @example
 * import { MonoidSum } from 'fp-ts/lib/number.js'
 * aggregate(fromMonoid(MonoidSum, (f: Flight) => f.distance))
 */
export function fromMonoid<M>(M: Monoid<M>): MergeableAggregator<M, M, M>
export function fromMonoid<A, M>(M: Monoid<M>, f: (a: A) => M): MergeableAggregator<A, M, M>
export function fromMonoid<A, M>(M: Monoid<M>, f?: (a: A) => M): MergeableAggregator<A, M, M> {
  const concat = (x: M, y: M) => M.concat(x, y)
  return builtIn<A, M, M, M>('monoid', f ?? (identity as (a: A) => M), concat, () => M.empty, concat, identity)
}

/**
 * Checks and returns a user aggregator; with type annotations on `add` it infers the event,
 * accumulator and result types. Fails at once when a member is missing.
 *
 * @example
 * const spread = aggregator({
 *   init: () => [Infinity, -Infinity] as [number, number],
 *   add: (acc, f: Flight) => [Math.min(acc[0], f.delay), Math.max(acc[1], f.delay)] as [number, number],
 *   merge: (x, y) => [Math.min(x[0], y[0]), Math.max(x[1], y[1])] as [number, number],
 *   result: ([lo, hi]) => hi - lo,
 * })
 */
export function aggregator<A, Acc, R>(a: MergeableAggregator<A, Acc, R>): MergeableAggregator<A, Acc, R>
export function aggregator<A, Acc, R>(a: Aggregator<A, Acc, R>): Aggregator<A, Acc, R>
export function aggregator<A, Acc, R>(a: Aggregator<A, Acc, R>): Aggregator<A, Acc, R> {
  if (!isAggregator(a)) throw new TypeError(`aggregator: expected { init, add, result } functions (and optionally merge), got ${describe(a)}`)
  return a
}

/** One aggregation: an aggregator or a monoid over the event values. */
export type AggregationLike = Aggregator<any, any, any> | Monoid<any>

/** What `aggregate` takes: one aggregation, or a record of named aggregations (a typed record per window). */
export type AggregateSpec = AggregationLike | { readonly [name: string]: AggregationLike }

type InputOf1<X> = X extends { readonly add: (acc: any, a: infer A) => any }
  ? A
  : X extends Monoid<infer M>
    ? M
    : never

type ResultOf1<X> = X extends { readonly result: (acc: any) => infer R } ? R : X extends Monoid<infer M> ? M : never

type Mergeable1<X> = X extends { readonly merge: (x: any, y: any) => any }
  ? true
  : X extends { readonly add: unknown }
    ? false
    : X extends Monoid<any>
      ? true
      : false

/** The event type a spec accepts: for a record, what every field accepts (`count` accepts anything). */
export type InputOf<S> = S extends AggregationLike
  ? InputOf1<S>
  : { [k in keyof S]: (a: InputOf1<S[k]>) => void }[keyof S] extends (a: infer A) => void
    ? A
    : never

/** The window value a spec computes: `{ n: count, avg: mean(f) }` gives `{ n: number; avg: number }`. */
export type ResultOf<S> = S extends AggregationLike ? ResultOf1<S> : { readonly [k in keyof S]: ResultOf1<S[k]> }

/** True when every aggregation in the spec can merge accumulators (monoids always can). */
export type IsMergeable<S> = S extends AggregationLike
  ? Mergeable1<S>
  : false extends { [k in keyof S]: Mergeable1<S[k]> }[keyof S]
    ? false
    : true

const isFn = (x: unknown): boolean => typeof x === 'function'

/** Runtime check for `{ init, add, result }` (with an optional `merge` function). */
export const isAggregator = (x: unknown): x is Aggregator<unknown, unknown, unknown> =>
  typeof x === 'object' &&
  x !== null &&
  isFn((x as Aggregator<unknown, unknown, unknown>).init) &&
  isFn((x as Aggregator<unknown, unknown, unknown>).add) &&
  isFn((x as Aggregator<unknown, unknown, unknown>).result) &&
  ((x as Aggregator<unknown, unknown, unknown>).merge === undefined || isFn((x as Aggregator<unknown, unknown, unknown>).merge))

/** Runtime check for an fp-ts `Monoid` (`concat` and `empty`). */
export const isMonoid = (x: unknown): x is Monoid<unknown> =>
  typeof x === 'object' && x !== null && isFn((x as Monoid<unknown>).concat) && 'empty' in x

/** Describes a bad argument for an error message. */
export const describe = (x: unknown): string => {
  if (x === null || typeof x !== 'object') return typeof x === 'function' ? 'a function' : JSON.stringify(x) ?? String(x)
  return `{ ${Object.keys(x).join(', ')} }`
}

/**
 * The shape of an aggregation's state, for checkpoints: `count`, `mean`, ..., `monoid`, `aggregator`
 * (a user's), or a record of them. Two specs with the same shape keep compatible accumulators.
 *
 * @example
 * describeAggregation({ n: count, s: sum((e: Ev) => e.n) }) // '{ n: count, s: sum }'
 */
export const describeAggregation = (spec: AggregateSpec): string => {
  const one = (a: AggregationLike): string => {
    const staged = (a as { [STAGED]?: Staged<unknown, unknown, unknown> })[STAGED]
    return staged !== undefined ? staged.name : isMonoid(a) ? 'monoid' : 'aggregator'
  }
  if (isAggregator(spec) || isMonoid(spec)) return one(spec)
  return `{ ${Object.entries(spec).map(([k, a]) => `${k}: ${one(a)}`).join(', ')} }`
}
