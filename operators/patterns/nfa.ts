import type { PatternSpec, PositiveStep, StepPredicate } from '../../dsl/patterns.ts'

/** Transition kind: take the event into the current step again. */
export const LOOP = 0
/** Transition kind: take the event into a later step (past optional ones). */
export const ENTER = 1
/** Transition kind: the partial match is complete (once its tail `notFollowedBy` holds). */
export const ACCEPT = 2

/** A predicate with what the matcher needs to call it cheaply. */
export interface CompiledPredicate {
  readonly name: string
  readonly test: StepPredicate<unknown, string>
  /**
   * False for a one-parameter function: it cannot read the matched events, so the matcher never
   * builds them for it (the common case, and an allocation per partial match saved).
   */
  readonly usesMatched: boolean
}

/**
 * One outgoing transition of a state. A partial match keeps a bit per transition of its state;
 * the bit is cleared once the transition can no longer fire (see `Nfa`).
 */
export interface Transition {
  readonly kind: typeof LOOP | typeof ENTER | typeof ACCEPT
  /** The step the event goes to (LOOP, ENTER). */
  readonly step: number
  /** The event must come right after the partial match's last event. */
  readonly strict: boolean
  /** `notFollowedBy` predicates no skipped event may satisfy before this transition fires. */
  readonly negations: readonly CompiledPredicate[]
}

/** The transitions of one state, with where the completing one sits. */
export interface State {
  readonly transitions: readonly Transition[]
  /** Bit mask with every transition live. */
  readonly all: number
  /** Bit of the ACCEPT transition, or 0. */
  readonly acceptBit: number
  /** ACCEPT fires at once: no `notFollowedBy` guards the rest of the pattern. */
  readonly acceptNow: boolean
}

/**
 * A pattern compiled to an NFA. A state is `(step, count class)`: a partial match whose last event
 * went to `step` as its `count`-th, classed as below the step's minimum (it must repeat), between
 * minimum and maximum (it may repeat or go on), or at its maximum (it must go on).
 */
export interface Nfa {
  readonly steps: readonly CompiledPredicate[]
  readonly names: readonly string[]
  readonly min: readonly number[]
  readonly max: readonly number[]
  /** Transitions from the empty match: ENTER the first step, or a later one past optional steps. */
  readonly start: readonly Transition[]
  /** `states[3 * step + countClass]`. */
  readonly states: readonly State[]
  /** `within` in ms, `+Infinity` without it. */
  readonly within: number
}

const compilePredicate = (name: string, test: StepPredicate<unknown, string>): CompiledPredicate => ({
  name,
  test,
  usesMatched: test.length !== 1,
})

/** Count class of a partial match holding `count` events of a step with bounds `min..max`. */
export const countClass = (count: number, min: number, max: number): number => (count < min ? 0 : count < max ? 1 : 2)

/** Compiles a pattern description to transition tables. */
export function compileNfa(spec: PatternSpec): Nfa {
  const positive: PositiveStep[] = []
  // negationsAfter[j]: the notFollowedBy steps declared between positive step j and j + 1.
  const negationsAfter: CompiledPredicate[][] = []
  for (const s of spec.steps) {
    if (s._tag === 'Step') {
      positive.push(s)
      negationsAfter.push([])
    } else negationsAfter[positive.length - 1].push(compilePredicate(s.name, s.predicate))
  }
  const n = positive.length

  // Transitions that leave step `from` (or the start, from = -1) for later steps.
  const goOn = (from: number): Transition[] => {
    const out: Transition[] = []
    // A notFollowedBy with nothing matched before it constrains nothing.
    let negs: CompiledPredicate[] = from < 0 ? [] : [...negationsAfter[from]]
    for (let j = from + 1; j < n; j++) {
      out.push({ kind: ENTER, step: j, strict: positive[j].contiguity === 'strict', negations: negs })
      if (!positive[j].optional) return out
      negs = [...negs, ...negationsAfter[j]]
    }
    if (from >= 0) out.push({ kind: ACCEPT, step: -1, strict: false, negations: negs })
    return out
  }

  const state = (transitions: Transition[]): State => {
    const a = transitions.findIndex((t) => t.kind === ACCEPT)
    return {
      transitions,
      all: transitions.length === 0 ? 0 : (1 << transitions.length) - 1,
      acceptBit: a < 0 ? 0 : 1 << a,
      acceptNow: a >= 0 && transitions[a].negations.length === 0,
    }
  }

  const states: State[] = []
  for (let j = 0; j < n; j++) {
    const loop: Transition = { kind: LOOP, step: j, strict: positive[j].repeat === 'strict', negations: [] }
    states.push(state([loop]), state([loop, ...goOn(j)]), state(goOn(j)))
  }
  return {
    steps: positive.map((s) => compilePredicate(s.name, s.predicate)),
    names: positive.map((s) => s.name),
    min: positive.map((s) => s.min),
    max: positive.map((s) => s.max),
    start: goOn(-1),
    states,
    within: spec.within ?? Number.POSITIVE_INFINITY,
  }
}
