/**
 * Complex event processing: typed patterns over a keyed stream and the `match` stage.
 *
 * A pattern is a sequence of named steps. Each event a match takes is assigned to one positive step;
 * `notFollowedBy` steps take no events, they forbid some in a gap. Matching is per key, over that
 * key's events in event-time order (equal times keep their arrival order).
 *
 * ## Semantics (exact; the property suite checks the operator against a search written from this)
 *
 * A *partial match* is a sequence of events `e1 < e2 < ... < en` (in the key's order), each assigned
 * to a positive step, steps non-decreasing, such that:
 * - counts: every step before the last step used took a number of events its quantifier allows
 *   (`1` by default, exactly `n` for `times(n)`, `>= n` for `times(n).oneOrMore()`, `>= 1` for
 *   `oneOrMore()`, and also `0` when `optional()`); the last step used took at most its maximum;
 *   the first event's step is reachable from the start by skipping optional steps only;
 * - predicates: each event satisfies its step's predicate, called with the events the partial
 *   match took before it, by step name (its own step's earlier events included);
 * - links: for two consecutive events `x`, `y` where `y` goes to step `s`, the link is
 *   *strict* if `y` enters `s` and `s` was declared with `next`, or if `y` repeats `s` and the
 *   quantifier's contiguity is `'strict'` (the default for `begin` and `next` steps; `'relaxed'` for
 *   `followedBy` steps; `times(n, { contiguity })` / `oneOrMore({ contiguity })` override it).
 *   A strict link needs `y` right after `x`. A relaxed link skips the events between them, but only
 *   events that could not have been taken: every skipped event fails the predicate of `s` (with the
 *   same earlier events) and fails every `notFollowedBy` declared between `x`'s step and `s`
 *   ("skip till next match": a step takes the first event after `x` that satisfies it);
 * - `within(d)`: `time(en) - time(e1) <= d` (inclusive).
 *
 * A partial match is a *match* when every step after its last step is optional and its last step
 * has reached its minimum. If `notFollowedBy` steps come after its last step (a tail negation, or
 * one before optional steps it skipped), it is a match only if no later event of the key satisfies
 * them, up to `time(e1) + d` with `within(d)`, or to the end of the input without it. A
 * `notFollowedBy` with no event before it (after a skipped optional `begin`) constrains nothing.
 *
 * Quantifiers are not greedy by themselves: each count the quantifier allows gives its own match
 * (`a b+ c` over `a b b c` gives `a b b c` and `a b c` with `'noSkip'`). With `'skipPastLastEvent'`,
 * of the matches completed by the same event the first in result order wins: the earliest start,
 * then the one taking the earliest events, which makes it greedy there (`a b b c`). A match is emitted as soon as
 * it is complete, so a trailing `oneOrMore` reports each extension with `'noSkip'` and only its first
 * event with `'skipPastLastEvent'` (put a step after it to bound it).
 */
import type { Key, NeedsKey, Stream } from './stream.ts'
import { operatorNode, stream } from './stream.ts'
import { toMillis, type Duration, formatDuration } from './time.ts'

/** The events a (partial) match has taken so far, by step name, in event-time order. */
export type Matched<T, M extends string> = { readonly [P in M]: readonly T[] }

/** A step's condition: the candidate event and what the partial match took before it, by step name. */
export type StepPredicate<T, M extends string> = (event: T, matched: Matched<T, M>) => boolean

/** Whether two consecutive events of a match must be adjacent in the key's stream. */
export type Contiguity = 'strict' | 'relaxed'

/** Options of a quantifier: how its repetitions are linked (default: the step's own contiguity). */
export interface QuantifierOptions {
  readonly contiguity?: Contiguity
}

/** A step that takes events. `min`/`max` count events; `optional` also allows zero. */
export interface PositiveStep {
  readonly _tag: 'Step'
  readonly name: string
  readonly predicate: StepPredicate<any, string>
  /** How the first event of this step links to the previous event (`begin` steps: unused). */
  readonly contiguity: Contiguity
  /** How a repetition links to the previous event of the same step. */
  readonly repeat: Contiguity
  readonly min: number
  readonly max: number
  readonly optional: boolean
}

/** A `notFollowedBy` step: no event in its gap may satisfy the predicate. */
export interface NegativeStep {
  readonly _tag: 'NotFollowedBy'
  readonly name: string
  readonly predicate: StepPredicate<any, string>
}

/** One step of a pattern description, in declaration order. */
export type PatternStep = PositiveStep | NegativeStep

/** The plain description of a pattern, as `match` and the NFA compiler read it. */
export interface PatternSpec {
  readonly steps: readonly PatternStep[]
  /** `within(d)` in ms, or undefined. */
  readonly within: number | undefined
}

/** `N` when it is not already a step name of the pattern, else `never` (a compile error). */
type Fresh<N extends string, M extends string> = N extends M ? never : N

/**
 * `M`: the names of the steps that take events (the match's keys). `U`: every name used so far,
 * `notFollowedBy`'s too, which no later step may reuse.
 */
interface PatternBase<T, M extends string, U extends string, W extends boolean> {
  readonly _tag: 'Pattern'
  readonly spec: PatternSpec
  /** Types only (never set): whether `within` was given, which `match`'s timeouts need. */
  readonly hasWithin?: W
  /** A step whose first event must come right after the previous step's last event. */
  next<N extends string>(name: Fresh<N, U>, predicate: StepPredicate<T, M | N>): Pattern<T, M | N, U | N, W>
  /** A step whose first event is the first later event satisfying it ("skip till next match"). */
  followedBy<N extends string>(name: Fresh<N, U>, predicate: StepPredicate<T, M | N>): Pattern<T, M | N, U | N, W>
  /**
   * Forbids, between the previous step's last event and the next step's first event (or, at the
   * tail, after the last event up to `start + within` / the end of the input), any event satisfying
   * `predicate`. Takes no event and adds no name to the match.
   */
  notFollowedBy<N extends string>(name: Fresh<N, U>, predicate: StepPredicate<T, M>): NegatedPattern<T, M, U | N, W>
}

/** A pattern whose last step takes events: quantifiers apply to that step. */
export interface Pattern<T, M extends string, U extends string = M, W extends boolean = boolean> extends PatternBase<T, M, U, W> {
  /**
   * The last step takes exactly `n` events (`n >= 1`); followed by `oneOrMore()`, at least `n`.
   * Repetitions are linked by `options.contiguity`, by default the step's own.
   */
  times(n: number, options?: QuantifierOptions): Pattern<T, M, U, W>
  /** The last step takes one or more events (after `times(n)`: `n` or more). */
  oneOrMore(options?: QuantifierOptions): Pattern<T, M, U, W>
  /** The last step may also take no event: the match then skips it (its array is empty). */
  optional(): Pattern<T, M, U, W>
  /** Every match spans at most `d` of event time: `last.time - first.time <= d`. */
  within(d: Duration): Pattern<T, M, U, true>
}

/** A pattern ending with `notFollowedBy`: no quantifier applies. */
export interface NegatedPattern<T, M extends string, U extends string = M, W extends boolean = boolean> extends PatternBase<T, M, U, W> {
  /** Every match spans at most `d` of event time: `last.time - first.time <= d`. */
  within(d: Duration): NegatedPattern<T, M, U, true>
}

/** The start of a pattern definition: only `begin`. */
export interface PatternStart<T> {
  /**
   * The first step. Its repetitions (with a quantifier) are strictly contiguous unless
   * `{ contiguity: 'relaxed' }` is given.
   */
  begin<N extends string>(name: N, predicate: StepPredicate<T, N>): Pattern<T, N, N, false>
}

/** Most positive steps a pattern may have (the matcher keeps a run's live transitions in a bit mask). */
export const MAX_PATTERN_STEPS = 29

const fail = (who: string, msg: string): never => {
  throw new TypeError(`${who}: ${msg}`)
}

class Builder {
  readonly _tag = 'Pattern'
  constructor(readonly spec: PatternSpec) {}

  private names(): Set<string> {
    return new Set(this.spec.steps.map((s) => s.name))
  }

  private add(who: string, name: string, predicate: unknown, step: PatternStep): Builder {
    if (typeof name !== 'string' || name.length === 0) fail(who, `step name must be a non-empty string, got ${JSON.stringify(name)}`)
    if (this.names().has(name)) fail(who, `step name '${name}' is already used in this pattern; names must be unique`)
    if (typeof predicate !== 'function') fail(who, `step '${name}' needs a predicate function`)
    if (step._tag === 'Step' && this.spec.steps.filter((s) => s._tag === 'Step').length >= MAX_PATTERN_STEPS)
      fail(who, `a pattern may have at most ${MAX_PATTERN_STEPS} steps that take events`)
    return new Builder({ ...this.spec, steps: [...this.spec.steps, step] })
  }

  private positive(name: string, predicate: StepPredicate<any, string>, contiguity: Contiguity): PositiveStep {
    return { _tag: 'Step', name, predicate, contiguity, repeat: contiguity, min: 1, max: 1, optional: false }
  }

  begin(name: string, predicate: StepPredicate<any, string>): Builder {
    return this.add('pattern.begin', name, predicate, this.positive(name, predicate, 'strict'))
  }

  next(name: string, predicate: StepPredicate<any, string>): Builder {
    return this.add('pattern.next', name, predicate, this.positive(name, predicate, 'strict'))
  }

  followedBy(name: string, predicate: StepPredicate<any, string>): Builder {
    return this.add('pattern.followedBy', name, predicate, this.positive(name, predicate, 'relaxed'))
  }

  notFollowedBy(name: string, predicate: StepPredicate<any, string>): Builder {
    return this.add('pattern.notFollowedBy', name, predicate, { _tag: 'NotFollowedBy', name, predicate })
  }

  private withLast(who: string, f: (s: PositiveStep) => PositiveStep): Builder {
    const steps = this.spec.steps
    const last = steps[steps.length - 1]
    if (last === undefined || last._tag !== 'Step') return fail(who, 'applies to a step that takes events, not to notFollowedBy')
    return new Builder({ ...this.spec, steps: [...steps.slice(0, -1), f(last)] })
  }

  private contiguityOf(who: string, s: PositiveStep, o: QuantifierOptions | undefined): Contiguity {
    const c = o?.contiguity ?? s.repeat
    if (c !== 'strict' && c !== 'relaxed') fail(who, `contiguity must be 'strict' or 'relaxed', got ${JSON.stringify(c)}`)
    return c
  }

  times(n: number, options?: QuantifierOptions): Builder {
    const who = 'pattern.times'
    return this.withLast(who, (s) => {
      if (!Number.isInteger(n) || n < 1) fail(who, `expected a whole number >= 1, got ${String(n)}`)
      if (s.max !== 1 || s.min !== 1) fail(who, `step '${s.name}' already has a count; use times(n).oneOrMore() for 'n or more'`)
      return { ...s, min: n, max: n, repeat: this.contiguityOf(who, s, options) }
    })
  }

  oneOrMore(options?: QuantifierOptions): Builder {
    const who = 'pattern.oneOrMore'
    return this.withLast(who, (s) => {
      if (s.max === Number.POSITIVE_INFINITY) fail(who, `step '${s.name}' is already unbounded`)
      return { ...s, max: Number.POSITIVE_INFINITY, repeat: this.contiguityOf(who, s, options) }
    })
  }

  optional(): Builder {
    const who = 'pattern.optional'
    return this.withLast(who, (s) => {
      if (s.optional) fail(who, `step '${s.name}' is already optional`)
      return { ...s, optional: true }
    })
  }

  within(d: Duration): Builder {
    if (this.spec.within !== undefined) fail('pattern.within', 'the pattern already has a within bound')
    return new Builder({ ...this.spec, within: toMillis(d, 'pattern.within') })
  }
}

/**
 * Starts a typed pattern over events of type `T`. Predicates see the events matched by earlier
 * steps, typed by step name. See the module documentation for the exact matching semantics.
 *
 * @example
 * const smallThenBig = pattern<Txn>()
 *   .begin('small', (t) => t.amount < 10)
 *   .next('big', (t, m) => t.amount > 100 * m.small[0].amount)
 *   .within('10m')
 */
export const pattern = <T>(): PatternStart<T> =>
  new Builder({ steps: [], within: undefined }) as unknown as PatternStart<T>

/** Which matches survive an emitted match. */
export type SkipStrategy = 'skipPastLastEvent' | 'noSkip'

/** One match: its events by step name (a skipped optional step has an empty array). */
export interface Match<T, M extends string, K = Key> {
  readonly _tag: 'Match'
  readonly key: K
  /** Event time of the first event. */
  readonly start: number
  /** Event time of the last event. */
  readonly end: number
  readonly events: Matched<T, M>
}

/** A partial match that `within` expired while it still waited for events (only with `timeouts: true`). */
export interface Timeout<T, M extends string, K = Key> {
  readonly _tag: 'Timeout'
  readonly key: K
  readonly start: number
  /** `start + within`: the watermark passed it before the match could complete. */
  readonly deadline: number
  /** What the partial match had taken (steps not reached have empty arrays). */
  readonly events: Matched<T, M>
}

/** Options of `match`. */
export interface MatchOptions {
  /**
   * `'skipPastLastEvent'` (default): once a match is emitted, every partial match that started at or
   * before its last event is dropped, so emitted matches never overlap. `'noSkip'`: every match.
   */
  readonly skip?: SkipStrategy
  /** Also emit `Timeout` elements for partial matches that `within` expired (needs `within`). */
  readonly timeouts?: boolean
}

/** The plain spec of a `match` stage, read by its interpreter. */
export interface MatchSpec {
  readonly pattern: PatternSpec
  readonly skip: SkipStrategy
  readonly timeouts: boolean
}

type AnyPattern<T, M extends string, W extends boolean = boolean> = Pattern<T, M, any, W> | NegatedPattern<T, M, any, W>

/**
 * Matches a pattern per key over a keyed stream, in event-time order: events are buffered until the
 * watermark passes them, so any arrival order within the watermark bound gives the same matches.
 * Emits each match (`{ _tag: 'Match', key, start, end, events }`) once it is complete, stamped with
 * its last event's time; a match completed by a tail `notFollowedBy` is emitted when the watermark
 * passes `start + within` (stamped with that time), or at the end of input without `within`
 * (stamped with the later of its last event and the last finite watermark).
 *
 * Timeouts: with `timeouts: true` the same stream also carries `{ _tag: 'Timeout', ... }` elements
 * (the output type becomes `Match | Timeout`; filter on `_tag`), stamped with their deadline. A
 * partial match times out when the watermark passes its deadline `start + within` (end of input
 * included) while it could still take events, and it was not itself emitted as a match.
 *
 * Order, per key: results come out in event-time order of the point that completes them (an event,
 * or a deadline after every event at or before it); at one point, matches before timeouts, each
 * ordered by first event, then lexicographically by their events' `(position, step)` sequences.
 * With `'skipPastLastEvent'` a result is dropped when its first event is at or before the last event
 * of a match emitted before it. Events later than the watermark go to the late side output; a throwing
 * predicate sends its event to dead letters (reason 'user') and counts as false.
 *
 * Memory: partial matches older than `within` are dropped as soon as the watermark passes their
 * deadline. Without `within`, a partial match lives until it can no longer complete (or the input
 * ends), and a tail `notFollowedBy` holds its match until the end of input.
 *
 * @example
 * pipe(txns, keyBy((t) => t.card), match(smallThenBig, { skip: 'noSkip' }), map((m) => m.events.big[0]))
 */
export function match<T, M extends string>(
  // Timeouts need a deadline: a pattern without `within` is a compile error here.
  p: AnyPattern<T, M, true>,
  options: MatchOptions & { readonly timeouts: true },
): <K>(s: Stream<T, K> & NeedsKey<K, 'match'>) => Stream<Match<T, M, Extract<K, Key>> | Timeout<T, M, Extract<K, Key>>, Extract<K, Key>>
export function match<T, M extends string>(
  p: AnyPattern<T, M>,
  options?: MatchOptions & { readonly timeouts?: false },
): <K>(s: Stream<T, K> & NeedsKey<K, 'match'>) => Stream<Match<T, M, Extract<K, Key>>, Extract<K, Key>>
export function match<T, M extends string>(p: AnyPattern<T, M>, options: MatchOptions = {}): (s: Stream<T, any>) => Stream<unknown, any> {
  const spec = p?.spec
  if (spec === undefined || !spec.steps.some((s) => s._tag === 'Step'))
    fail('match', 'expected a pattern built with pattern<T>().begin(...)')
  const skip = options.skip ?? 'skipPastLastEvent'
  if (skip !== 'skipPastLastEvent' && skip !== 'noSkip')
    fail('match', `skip must be 'skipPastLastEvent' or 'noSkip', got ${JSON.stringify(skip)}`)
  const timeouts = options.timeouts ?? false
  if (timeouts && spec.within === undefined)
    fail('match', 'timeouts need a pattern with within(d): without it a partial match never times out')
  const matchSpec: MatchSpec = { pattern: spec, skip, timeouts }
  const label = `match(${spec.steps.map((s) => (s._tag === 'Step' ? s.name : `!${s.name}`)).join(' → ')}${
    spec.within === undefined ? '' : ` within ${formatDuration(spec.within)}`
  })`
  return (s) => stream(operatorNode('Match', label, [s.node], matchSpec))
}

/**
 * What a `match` stage's state depends on, for checkpoints: every step's name, link, count and
 * contiguity, `within`, the skip strategy and timeouts (partial matches are stored by step index).
 *
 * @example
 * patternShape(spec) // 'match(begin a, followedBy b{2,∞} relaxed within 1m; skipPastLastEvent)'
 */
export const patternShape = (m: MatchSpec): string => {
  const steps = m.pattern.steps.map((s, i) => {
    if (s._tag === 'NotFollowedBy') return `notFollowedBy ${s.name}`
    const link = i === 0 ? 'begin' : s.contiguity === 'strict' ? 'next' : 'followedBy'
    const count = s.min === 1 && s.max === 1 ? '' : `{${s.min},${s.max === Number.POSITIVE_INFINITY ? '∞' : s.max}}`
    return `${link} ${s.name}${count}${s.optional ? '?' : ''}${s.repeat !== s.contiguity ? ` ${s.repeat}` : ''}`
  })
  const within = m.pattern.within === undefined ? '' : ` within ${formatDuration(m.pattern.within)}`
  return `match(${steps.join(', ')}${within}; ${m.skip}${m.timeouts ? ', timeouts' : ''})`
}
