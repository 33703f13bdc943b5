/**
 * Event-time windows in the description: window assigners as tagged values, and the `window` +
 * `aggregate` stages. Semantics (docs/semantics.md, "Windows"): per key, a window is the half-open
 * interval `[start, end)` in ms; it fires when the watermark `W >= end`; its state is kept until
 * `W >= end + allowedLateness`.
 */
import type { Change } from './change.ts'
import type { WindowBounds } from './sides.ts'
import type { Key, NeedsKey, Node, Stream } from './stream.ts'
import { operatorNode, stream } from './stream.ts'
import { toMillis, type Duration, formatDuration } from './time.ts'
import {
  describe,
  describeAggregation,
  isAggregator,
  isMonoid,
  type AggregateSpec,
  type Aggregator,
  type IsMergeable,
} from './aggregations.ts'
import type { Monoid } from 'fp-ts/lib/Monoid.js'

/** `start = floor((t - offset) / size) * size + offset`: each event is in exactly one window. */
export interface Tumbling {
  readonly _tag: 'Tumbling'
  readonly size: number
  readonly offset: number
}

/** Windows `[k*hop, k*hop + size)` for every integer `k` with the event inside. */
export interface Hopping {
  readonly _tag: 'Hopping'
  readonly size: number
  readonly hop: number
}

/** For every event at `t`, the trailing window `[t - size + 1, t + 1)` over its key's events. */
export interface Sliding {
  readonly _tag: 'Sliding'
  readonly size: number
}

/** Per key, maximal runs of events whose consecutive times differ by `< gap`; window `[first, last + gap)`. */
export interface Session {
  readonly _tag: 'Session'
  readonly gap: number
}

/** Which windows an event belongs to. */
export type WindowAssigner = Tumbling | Hopping | Sliding | Session

/**
 * Tumbling windows: fixed, non-overlapping intervals of `size`, aligned to `offset` (default 0, i.e.
 * to the epoch). An event at `t` is in `[start, start + size)` with
 * `start = floor((t - offset) / size) * size + offset`.
 *
 * @example
 * tumbling('1m') // 10:03:00.000 – 10:03:59.999 is one window
 * tumbling('1d', { offset: '5h' }) // days in UTC-5 (their midnight is 05:00 UTC)
 * tumbling('1d', { offset: '-5h' }) // days in UTC+5 (a negative offset is allowed)
 */
export const tumbling = (size: Duration, options: { readonly offset?: Duration | `-${number}${string}` } = {}): Tumbling => {
  const s = toMillis(size, 'tumbling')
  const o = options.offset === undefined ? 0 : signedMillis(options.offset, 'tumbling (offset)')
  return { _tag: 'Tumbling', size: s, offset: ((o % s) + s) % s }
}

/**
 * Hopping windows: `[k*hop, k*hop + size)` for every integer `k`; an event is in `floor(size / hop)`
 * or `ceil(size / hop)` of them (exactly `size / hop` when `hop` divides `size`). `hop` must not exceed
 * `size` (a larger hop would leave events in no window).
 *
 * @example
 * hopping('5m', '1m') // 10:03:00–10:07:59, then 10:04:00–10:08:59, ...
 */
export const hopping = (size: Duration, hop: Duration): Hopping => {
  const s = toMillis(size, 'hopping (size)')
  const h = toMillis(hop, 'hopping (hop)')
  if (h > s) throw new TypeError(`hopping: hop must not exceed size (events would fall in no window), got size ${s} ms and hop ${h} ms`)
  return { _tag: 'Hopping', size: s, hop: h }
}

/**
 * Sliding windows: each event at `t` defines the trailing window `(t - size, t]`, i.e.
 * `[t - size + 1, t + 1)`, over its key's events. Two events share a window iff `|t1 - t2| < size`;
 * events with equal key and time share one window. A rolling aggregate, one result per distinct time.
 *
 * @example
 * sliding('5m') // one window holds events at 10:03:39 and 10:08:12
 */
export const sliding = (size: Duration): Sliding => ({ _tag: 'Sliding', size: toMillis(size, 'sliding') })

/**
 * Session windows: per key, maximal runs of events whose consecutive times differ by less than
 * `gap`; the window is `[first, last + gap)`. An out-of-order event that bridges two sessions merges
 * them (in `'updates'` mode the merged-away sessions are retracted with `delete`), so the aggregation
 * needs `merge`: `aggregate` with an aggregator lacking it is a type error.
 *
 * @example
 * session('30s')
 */
export const session = (gap: Duration): Session => ({ _tag: 'Session', gap: toMillis(gap, 'session') })

/**
 * `'final'`: one result per window when it fires (plus updates brought by allowed lateness; a session
 * result that supersedes earlier ones under other bounds lists them in `replaces`); `'updates'`: a
 * changelog.
 */
export type EmitMode = 'final' | 'updates'

/** What a window type asks of its aggregation: sessions merge accumulators. */
export type AggregatorNeed = 'any aggregator' | 'an aggregator with merge'

type NeedOf<W extends WindowAssigner> = W extends Session ? 'an aggregator with merge' : 'any aggregator'

/** Options of `window`. */
export interface WindowOptions<E extends EmitMode> {
  /**
   * How long after firing a window's state is kept (default 0): an event that joins a fired window
   * updates its result and re-emits it; state is freed once `W >= end + allowedLateness`. A
   * re-emitted result keeps its window's time (`end - 1`), which the watermark has passed: a stage
   * after the window that judges lateness (a `windowJoin`, another window) finds it late, as in
   * Flink. To keep every firing, emit `'updates'` into a `table`.
   */
  readonly allowedLateness?: Duration
  /** `'final'` (default) or `'updates'`. */
  readonly emit?: E
}

/**
 * A keyed stream cut into windows, waiting for `aggregate`: not a stream itself, so `aggregate` is
 * the only stage that applies. `N` says whether the window type needs an aggregator with `merge`.
 */
export interface Windowed<A, K extends Key, E extends EmitMode, N extends AggregatorNeed> {
  readonly _tag: 'Windowed'
  readonly input: Node
  readonly assigner: WindowAssigner
  readonly allowedLateness: number
  readonly emit: E
  readonly needs: N
  readonly _types?: { readonly value: A; readonly key: K }
}

/**
 * Cuts a keyed stream into event-time windows; follow it with `aggregate`. On an unkeyed stream this
 * is a type error (windows are per key: `keyBy` first).
 *
 * Firing: a window `[start, end)` fires when `W >= end`. Lateness: an event, judged against the
 * watermark just before it arrived, joins each of its windows whose `end + allowedLateness > W`;
 * an event left with no such window goes to the `late` side output (stage `'window'`) with its
 * windows. End of input (`W = +Infinity`) fires every window.
 *
 * @example
 * pipe(s, keyBy((f: Flight) => f.origin), window(tumbling('1h')), aggregate(count))
 * pipe(s, keyBy((f: Flight) => f.origin), window(session('30m'), { emit: 'updates', allowedLateness: '10m' }), aggregate(count))
 */
export const window = <W extends WindowAssigner, E extends EmitMode = 'final'>(assigner: W, options: WindowOptions<E> = {}) => {
  const emit = (options.emit ?? 'final') as E
  if (emit !== 'final' && emit !== 'updates') throw new TypeError(`window: emit must be 'final' or 'updates', got ${JSON.stringify(emit)}`)
  const allowedLateness =
    options.allowedLateness === undefined ? 0 : toMillis(options.allowedLateness, 'window (allowedLateness)', { allowZero: true })
  const needs = (assigner._tag === 'Session' ? 'an aggregator with merge' : 'any aggregator') as NeedOf<W>
  return <A, K>(s: Stream<A, K> & NeedsKey<K, 'window'>): Windowed<A, Extract<K, Key>, E, NeedOf<W>> => ({
    _tag: 'Windowed',
    input: s.node,
    assigner,
    allowedLateness,
    emit,
    needs,
  })
}

/**
 * One window's result: its key, its bounds `[start, end)` and the aggregated value.
 *
 * `replaces` (`'final'` mode only, present only when not empty): the bounds of results emitted
 * earlier for this key that this one supersedes, because allowed lateness let a late event grow a
 * session or merge sessions after they had fired. A consumer keeping results by (key, window)
 * deletes those; without allowed lateness it never appears. See docs/windows.md.
 */
export interface WindowResult<K, V> {
  readonly key: K
  readonly window: WindowBounds
  readonly value: V
  readonly replaces?: readonly WindowBounds[]
}

/** The output element type of `aggregate` for an emission mode. */
export type WindowOutput<K, V, E extends EmitMode> = E extends 'updates' ? Change<string, WindowResult<K, V>> : WindowResult<K, V>

/** The plain description of a window + aggregate stage (the `OperatorNode` spec of kind `'window'`). */
export interface WindowSpec {
  readonly assigner: WindowAssigner
  readonly allowedLateness: number
  readonly emit: EmitMode
  readonly aggregation: AggregateSpec
}

/** The node kind the window interpreter is registered under. */
export const WINDOW_KIND = 'Window'

/**
 * Aggregates each window of a `window(...)` stage. `spec` is one aggregation (`count`, `sum(f)`,
 * `min(f)`, `max(f)`, `mean(f)`, a Monoid, an `{ init, add, merge, result }` aggregator) or a record
 * of them, which gives a typed record per window.
 *
 * Each output element carries the window's key and the event time `end - 1` (the last instant in the
 * window). In `'final'` mode it is a `WindowResult`; in `'updates'` mode a `Change` keyed by
 * `windowId(key, window)`: an upsert each time an event changes the window, and a `delete` for a
 * session window merged away (or whose bounds grew: its old identity is retracted). Applying the
 * changelog to an upsert sink gives the final results, however often it is replayed.
 *
 * Selectors are typed from the windowed stream: `f` below is a `Flight`, in a record as in
 * `aggregate(mean((f) => f.delay))`.
 * Without a `window` before it, `aggregate` is a compile error ending in "aggregate needs a windowed
 * stream: add window(...) first", and a TypeError saying so when the types were bypassed.
 *
 * @example
 * pipe(s, keyBy((f: Flight) => f.origin), window(tumbling('1h')),
 *   aggregate({ n: count, avgDelay: mean((f) => f.delay) }))
 * // Stream<WindowResult<string, { readonly n: number; readonly avgDelay: number }>, string>
 */
export function aggregate<A, R, X>(
  spec: SpecOver<A, R, X>,
): <K extends Key, E extends EmitMode>(w: NotAStream<'aggregate'> & Windowed<A, K, E, NeedOfSpec<X>>) => Stream<WindowOutput<K, ResultOfSpec<R, X>, E>, K> {
  const given: AggregateSpec = spec as AggregateSpec
  const fields = isAggregator(given) || isMonoid(given) ? [['', given] as const] : Object.entries(given)
  if (fields.length === 0) throw new TypeError('aggregate: expected an aggregation or a record of aggregations, got an empty record')
  for (const [name, a] of fields)
    if (!isAggregator(a) && !isMonoid(a))
      throw new TypeError(
        `aggregate: ${name === '' ? 'the aggregation' : `field '${name}'`} must be an aggregator { init, add, merge?, result } or a Monoid, got ${describe(a)}`,
      )
  const mergeable = fields.every(([, a]) => isMonoid(a) || typeof (a as { merge?: unknown }).merge === 'function')
  return (w) => {
    if (w?._tag !== 'Windowed') throw new TypeError('aggregate: expected a windowed stream (add window(...) before aggregate)')
    if (w.assigner._tag === 'Session' && !mergeable)
      throw new TypeError('aggregate: session windows merge sessions, so every aggregator needs merge (or use a Monoid)')
    const node: WindowSpec = { assigner: w.assigner, allowedLateness: w.allowedLateness, emit: w.emit, aggregation: given }
    const names = fields.map(([n]) => n).filter((n) => n !== '')
    const label = `window ${describeAssigner(w.assigner)}${w.allowedLateness > 0 ? ` lateness ${formatDuration(w.allowedLateness)}` : ''}${w.emit === 'updates' ? ' (updates)' : ''} → aggregate${names.length > 0 ? ` { ${names.join(', ')} }` : ''}`
    return stream(operatorNode(WINDOW_KIND, label, [w.input], node))
  }
}

/**
 * What `aggregate` takes, written so that TypeScript infers the event type `A` from the windowed
 * stream it is applied to (and so types the selectors of `mean((f) => f.delay)`), or from the spec
 * when it stands alone: one aggregator, a Monoid, or a record of them. `X` is the spec as given,
 * for the merge and non-empty checks; the index signature lets a record alone say what `A` is.
 */
type SpecOver<A, R, X> =
  | Aggregator<A, any, R>
  | (Monoid<A> & Monoid<R>)
  | ({ readonly [k in keyof R]: Aggregator<A, any, R[k]> | (Monoid<A> & Monoid<R[k]>) } & X & NonEmptySpec<X> & {
      readonly [name: string]: Aggregator<A, any, unknown> | Monoid<A>
    })

/** Session windows need every aggregation to merge: an aggregator typed with `merge`, a Monoid, or a record whose every field can. */
type NeedOfSpec<X> = X extends { readonly add: unknown }
  ? X extends { readonly merge: (x: never, y: never) => unknown }
    ? AggregatorNeed
    : 'any aggregator'
  : IsMergeable<X> extends true
    ? AggregatorNeed
    : 'any aggregator'

/**
 * Refuses a stream where a windowed one goes, naming the fix: a stream has a `node`, a windowed
 * stream has none, so the compiler's complaint is that `node` is not this message.
 */
type NotAStream<Stage extends string> = { readonly node?: `${Stage} needs a windowed stream: add window(...) first` }

/** A record's results as a read-only record; one aggregation's result as it is. */
type ResultOfSpec<R, X> = unknown extends X ? R : { readonly [k in keyof R]: R[k] }

/** A record of aggregations needs at least one: `aggregate({})` is a compile error (and a TypeError at run time). */
type NonEmptySpec<S> = [keyof S] extends [never] ? never : unknown

/**
 * The changelog key of a window in `'updates'` mode: unambiguous for string and number keys. It reads
 * as JSON, except that a key of `Infinity`, `-Infinity` or `NaN` is written bare (JSON would make
 * all three `null`, one row for three windows).
 *
 * @example
 * windowId('JFK', { start: 0, end: 3600000 }) // '["JFK",0,3600000]'
 */
export const windowId = (key: Key, w: WindowBounds): string =>
  `[${typeof key === 'number' && !Number.isFinite(key) ? String(key) : JSON.stringify(key)},${w.start},${w.end}]`

/**
 * What a window stage's state depends on, for checkpoints: the assigner, lateness, emission and the
 * aggregation's shape (which aggregators, by field).
 *
 * @example
 * windowShape(spec) // 'window tumbling 1m (updates) → aggregate { n: count, s: sum }'
 */
export const windowShape = (w: WindowSpec): string =>
  `window ${describeAssigner(w.assigner)}${w.allowedLateness > 0 ? ` lateness ${formatDuration(w.allowedLateness)}` : ''}${w.emit === 'updates' ? ' (updates)' : ''} → aggregate ${describeAggregation(w.aggregation)}`

/** Short text for `explain` and labels. */
export const describeAssigner = (a: WindowAssigner): string => {
  switch (a._tag) {
    case 'Tumbling':
      return `tumbling ${formatDuration(a.size)}${a.offset !== 0 ? ` offset ${formatDuration(a.offset)}` : ''}`
    case 'Hopping':
      return `hopping ${formatDuration(a.size)} every ${formatDuration(a.hop)}`
    case 'Sliding':
      return `sliding ${formatDuration(a.size)}`
    case 'Session':
      return `session gap ${formatDuration(a.gap)}`
  }
}

/** Like `toMillis` but allows a leading minus sign (offsets may point backwards). */
const signedMillis = (d: Duration | `-${number}${string}`, who: string): number => {
  if (typeof d === 'number') {
    if (!Number.isInteger(d)) throw new TypeError(`${who}: expected a whole-millisecond duration, got ${d}`)
    return d
  }
  const s = String(d).trim()
  if (s.startsWith('-')) return -toMillis(s.slice(1) as Duration, who, { allowZero: true })
  return toMillis(s as Duration, who, { allowZero: true })
}
