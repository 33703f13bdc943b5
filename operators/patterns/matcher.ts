import type { Data } from '../../dsl/element.ts'
import type { Match, MatchSpec, Timeout } from '../../dsl/patterns.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import type { Emit, Machine } from '../core/machine.ts'
import { MinHeap } from '../core/MinHeap.ts'
import { ACCEPT, compileNfa, countClass, LOOP, type CompiledPredicate, type Nfa, type State } from './nfa.ts'

/**
 * One event taken by a partial match. Links form a tree: a partial match that forks shares its
 * prefix with the parent (Flink's shared buffer idea), so a fork costs one link, not a copy.
 */
interface Link {
  readonly value: unknown
  readonly time: number
  readonly pos: number
  /** The event's index in its key's event-time order. */
  readonly index: number
  readonly step: number
  readonly prev: Link | null
}

/** A partial match (a run of the NFA). */
interface Run {
  readonly tail: Link
  readonly step: number
  readonly count: number
  readonly state: State
  /** Live transitions of `state`, one bit each. */
  mask: number
  readonly startTime: number
  readonly startIndex: number
  /** Already emitted as a match (a later expiry is then no timeout). */
  accepted: boolean
  /** The events by step name, built on first use by a predicate that reads them. */
  matched: Record<string, unknown[]> | undefined
}

/** One key's matcher state. */
interface KeyState {
  readonly key: Key
  /** Index of the last event processed for this key. */
  index: number
  runs: Run[]
  /** The deadline this key is queued under in the deadline heap, `+Infinity` when not queued. */
  queued: number
}

/** Sizes of the matcher's state, for tests and metrics. */
export interface MatcherStateSize {
  /** Events waiting for the watermark. */
  readonly buffered: number
  /** Keys with at least one partial match. */
  readonly keys: number
  /** Partial matches alive. */
  readonly runs: number
  /** Entries of the deadline queue. */
  readonly deadlines: number
}

type RunSnapshot = [startTime: number, startIndex: number, step: number, count: number, mask: number, accepted: boolean, events: [unknown, number, number, number, number][]]
type KeySnapshot = [key: Key, index: number, queued: number | null, runs: RunSnapshot[]]

interface MatcherSnapshot {
  readonly wm: number | null
  readonly lastFinite: number | null
  readonly seq: number
  readonly dseq: number
  readonly buffer: [number, number, [unknown, number, Key, number]][]
  readonly deadlines: [number, number, Key][]
  readonly keys: KeySnapshot[]
}

const num = (x: number): number | null => (Number.isFinite(x) ? x : null)
const unnum = (x: number | null, inf: number): number => (x === null ? inf : x)

/**
 * The per-key pattern matcher behind `match` (see dsl/patterns.ts for the semantics). Events wait in
 * a heap until the watermark passes them, then run through the NFA per key in `(time, arrival)`
 * order. Expiry by `within` is driven by a heap of per-key deadlines, interleaved with the events:
 * before an event at time `t` is processed, every partial match whose deadline is `< t` expires, and
 * after the events below a watermark `W`, every deadline `< W`. State is therefore bounded by the
 * events within `within` of the watermark (plus the watermark's own delay for the buffer).
 */
export class PatternMatcher implements Machine<unknown, Key> {
  private readonly nfa: Nfa
  private readonly skip: boolean
  private readonly timeouts: boolean
  private readonly empty: Record<string, readonly unknown[]>
  private readonly buffer = new MinHeap<Data<unknown, Key>>()
  private readonly deadlines = new MinHeap<Key>()
  private readonly keys = new Map<Key, KeyState>()
  private wm = Number.NEGATIVE_INFINITY
  private lastFinite = Number.NEGATIVE_INFINITY
  private seq = 0
  private dseq = 0
  // Scratch arrays reused across events (no per-event allocation for the common no-fork case).
  private readonly forks: Run[] = []
  private readonly done: Run[] = []
  private readonly expired: Run[] = []
  private readonly links: Link[] = []
  /** The event being processed already produced a dead letter (report a throwing predicate once). */
  private faulted = false

  constructor(
    spec: MatchSpec,
    private readonly ctx: RunContext,
    private readonly emit: Emit<unknown, Key>,
  ) {
    this.nfa = compileNfa(spec.pattern)
    this.skip = spec.skip === 'skipPastLastEvent'
    this.timeouts = spec.timeouts
    const empty: Record<string, readonly unknown[]> = {}
    for (const name of this.nfa.names) empty[name] = Object.freeze([])
    this.empty = Object.freeze(empty)
  }

  data(d: Data<unknown, Key>): void {
    if (d.time < this.wm) {
      this.ctx.late({ _tag: 'Late', value: d.value, time: d.time, key: d.key, pos: d.pos, watermark: this.wm, stage: 'match', windows: [] })
      return
    }
    this.buffer.push(d.time, this.seq++, d)
  }

  watermark(w: number): void {
    this.wm = w
    const buffer = this.buffer
    while (buffer.peek() < w) {
      const d = buffer.pop()
      this.expireBefore(d.time)
      this.process(d)
    }
    this.expireBefore(w)
    if (w === Number.POSITIVE_INFINITY) this.resolveAtEnd()
    else this.lastFinite = w
  }

  /** Current state sizes (the pruning test asserts on them). */
  stateSize(): MatcherStateSize {
    let runs = 0
    for (const st of this.keys.values()) runs += st.runs.length
    return { buffered: this.buffer.size, keys: this.keys.size, runs, deadlines: this.deadlines.size }
  }

  private test(p: CompiledPredicate, value: unknown, run: Run | undefined, d: Data<unknown, Key>): boolean {
    try {
      const matched = !p.usesMatched || run === undefined ? this.empty : (run.matched ??= this.materialize(run))
      return p.test(value, matched) ? true : false
    } catch (e) {
      if (!this.faulted) {
        this.faulted = true
        this.ctx.deadLetter(deadLetter('user', 'match', d.pos, `predicate '${p.name}': ${errorMessage(e)}`, value))
      }
      return false
    }
  }

  private anyNegation(negs: readonly CompiledPredicate[], value: unknown, run: Run, d: Data<unknown, Key>): boolean {
    for (let k = 0; k < negs.length; k++) if (this.test(negs[k], value, run, d)) return true
    return false
  }

  private newRun(prev: Link | null, d: Data<unknown, Key>, index: number, step: number, count: number, startTime: number, startIndex: number): Run {
    const nfa = this.nfa
    const state = nfa.states[3 * step + countClass(count, nfa.min[step], nfa.max[step])]
    const tail: Link = { value: d.value, time: d.time, pos: d.pos, index, step, prev }
    return { tail, step, count, state, mask: state.all, startTime, startIndex, accepted: false, matched: undefined }
  }

  /** Runs one event of a key through every partial match of that key and the start state. */
  private process(d: Data<unknown, Key>): void {
    const nfa = this.nfa
    const value = d.value
    const st = this.keys.get(d.key)
    const index = st === undefined ? 0 : ++st.index
    const forks = this.forks
    this.faulted = false

    if (st !== undefined) {
      const runs = st.runs
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r]
        const ts = run.state.transitions
        const adjacent = run.tail.index === index - 1
        let mask = run.mask
        for (let b = 0; b < ts.length; b++) {
          const bit = 1 << b
          if ((mask & bit) === 0) continue
          const t = ts[b]
          if (t.kind === ACCEPT) {
            if (this.anyNegation(t.negations, value, run, d)) mask &= ~bit
            continue
          }
          // A transition that takes this event, or could have, is spent for this run: any later
          // event would have to skip this one ("skip till next match").
          if (t.strict) {
            if (adjacent && this.test(nfa.steps[t.step], value, run, d)) forks.push(this.fork(run, d, index, t.kind, t.step))
            mask &= ~bit
          } else if (this.test(nfa.steps[t.step], value, run, d)) {
            forks.push(this.fork(run, d, index, t.kind, t.step))
            mask &= ~bit
          } else if (t.negations.length > 0 && this.anyNegation(t.negations, value, run, d)) mask &= ~bit
        }
        run.mask = mask
      }
    }
    const start = nfa.start
    for (let k = 0; k < start.length; k++) {
      const step = start[k].step
      if (this.test(nfa.steps[step], value, undefined, d)) forks.push(this.newRun(null, d, index, step, 1, d.time, index))
    }
    if (st === undefined && forks.length === 0) return

    const done = this.done
    for (let k = 0; k < forks.length; k++) {
      const run = forks[k]
      if (run.state.acceptNow) {
        run.accepted = true
        run.mask &= ~run.state.acceptBit
        done.push(run)
      }
    }
    const state = st ?? this.keyState(d.key)
    if (done.length > 0) this.emitMatches(state, done, d.time, true)
    if (done.length > 0 && this.skip) state.runs.length = 0
    else {
      const runs = state.runs
      let w = 0
      for (let r = 0; r < runs.length; r++) if (runs[r].mask !== 0) runs[w++] = runs[r]
      runs.length = w
      for (let k = 0; k < forks.length; k++) if (forks[k].mask !== 0) runs.push(forks[k])
    }
    forks.length = 0
    done.length = 0
    this.settle(state)
  }

  private fork(run: Run, d: Data<unknown, Key>, index: number, kind: number, step: number): Run {
    return this.newRun(run.tail, d, index, step, kind === LOOP ? run.count + 1 : 1, run.startTime, run.startIndex)
  }

  private keyState(key: Key): KeyState {
    const st: KeyState = { key, index: 0, runs: [], queued: Number.POSITIVE_INFINITY }
    this.keys.set(key, st)
    return st
  }

  /** Drops a key without partial matches; queues its earliest deadline otherwise. */
  private settle(st: KeyState): void {
    const runs = st.runs
    if (runs.length === 0) {
      this.keys.delete(st.key)
      return
    }
    if (this.nfa.within === Number.POSITIVE_INFINITY) return
    let first = runs[0].startTime
    for (let r = 1; r < runs.length; r++) if (runs[r].startTime < first) first = runs[r].startTime
    const deadline = first + this.nfa.within
    // A key stays queued under a deadline no later than its earliest one; a stale, earlier entry
    // just re-settles the key when it pops.
    if (deadline < st.queued) {
      st.queued = deadline
      this.deadlines.push(deadline, this.dseq++, st.key)
    }
  }

  /** Expires, in deadline order, every partial match whose deadline is `< bound`. */
  private expireBefore(bound: number): void {
    const deadlines = this.deadlines
    while (deadlines.peek() < bound) {
      const queued = deadlines.peek()
      const st = this.keys.get(deadlines.pop())
      if (st === undefined || st.queued !== queued) continue
      st.queued = Number.POSITIVE_INFINITY
      this.expireOldest(st, bound)
    }
  }

  /**
   * Expires the partial matches of a key sharing its earliest deadline, if that is `< bound`: those
   * whose tail `notFollowedBy` held become matches (emitted first), the rest timeouts.
   */
  private expireOldest(st: KeyState, bound: number): void {
    const runs = st.runs
    const within = this.nfa.within
    let first = Number.POSITIVE_INFINITY
    for (let r = 0; r < runs.length; r++) if (runs[r].startTime < first) first = runs[r].startTime
    const deadline = first + within
    if (deadline < bound) {
      const done = this.done
      const expired = this.expired
      let w = 0
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r]
        if (run.startTime !== first) runs[w++] = run
        else if ((run.mask & run.state.acceptBit) !== 0) done.push(run)
        else if (this.timeouts && !run.accepted) expired.push(run)
      }
      runs.length = w
      const barrier = done.length > 0 ? this.emitMatches(st, done, deadline, false) : -1
      if (this.skip && barrier >= 0) {
        let k = 0
        for (let r = 0; r < runs.length; r++) if (runs[r].startIndex > barrier) runs[k++] = runs[r]
        runs.length = k
      }
      if (expired.length > 0) {
        if (expired.length > 1) expired.sort(this.canonical)
        for (let k = 0; k < expired.length; k++) {
          const run = expired[k]
          if (this.skip && run.startIndex <= barrier) continue
          const t: Timeout<unknown, string, Key> = { _tag: 'Timeout', key: st.key, start: run.startTime, deadline, events: this.materialize(run) }
          this.emit({ _tag: 'Data', value: t, time: deadline, key: st.key, pos: run.tail.pos })
        }
      }
      done.length = 0
      expired.length = 0
    }
    this.settle(st)
  }

  /** End of input without `within`: the tail `notFollowedBy` held for every match still waiting. */
  private resolveAtEnd(): void {
    const done = this.done
    for (const st of this.keys.values()) {
      for (const run of st.runs) if ((run.mask & run.state.acceptBit) !== 0) done.push(run)
      if (done.length > 0) this.emitMatches(st, done, Number.NaN, false)
      done.length = 0
    }
    this.keys.clear()
  }

  /**
   * Emits the matches completed at one point, in canonical order; with skipPastLastEvent, a match
   * whose first event is not after the last emitted one's last event is dropped. `time` stamps them
   * (NaN: the later of the last event and the last finite watermark). Returns the skip barrier: the
   * index of the last emitted match's last event, or -1.
   */
  private emitMatches(st: KeyState, done: Run[], time: number, atEvent: boolean): number {
    if (done.length > 1) done.sort(this.canonical)
    let barrier = -1
    for (let k = 0; k < done.length; k++) {
      const run = done[k]
      if (this.skip && run.startIndex <= barrier) continue
      const end = run.tail.time
      const m: Match<unknown, string, Key> = { _tag: 'Match', key: st.key, start: run.startTime, end, events: this.materialize(run) }
      const at = atEvent ? end : Number.isNaN(time) ? Math.max(end, this.lastFinite) : time
      this.emit({ _tag: 'Data', value: m, time: at, key: st.key, pos: run.tail.pos })
      barrier = run.tail.index
    }
    return barrier
  }

  /** Orders partial matches by first event, then lexicographically by their `(index, step)` sequences. */
  private readonly canonical = (a: Run, b: Run): number => {
    if (a.startIndex !== b.startIndex) return a.startIndex - b.startIndex
    const la = this.chain(a.tail, [])
    const lb = this.chain(b.tail, [])
    for (let i = la.length - 1, j = lb.length - 1; i >= 0 && j >= 0; i--, j--) {
      if (la[i].index !== lb[j].index) return la[i].index - lb[j].index
      if (la[i].step !== lb[j].step) return la[i].step - lb[j].step
    }
    return la.length - lb.length
  }

  /** The links of a partial match, last first. */
  private chain(tail: Link, out: Link[]): Link[] {
    for (let l: Link | null = tail; l !== null; l = l.prev) out.push(l)
    return out
  }

  /** The events of a partial match by step name (every step present). */
  private materialize(run: Run): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {}
    for (const name of this.nfa.names) out[name] = []
    const links = this.chain(run.tail, this.links)
    for (let i = links.length - 1; i >= 0; i--) out[this.nfa.names[links[i].step]].push(links[i].value)
    links.length = 0
    return out
  }

  /**
   * The whole state as plain data (event values must be JSON-serializable for a JSON checkpoint).
   * Infinite times are stored as null. Shared prefixes of partial matches are stored once per match.
   */
  snapshot(): MatcherSnapshot {
    const keys: KeySnapshot[] = []
    for (const st of this.keys.values()) {
      const runs = st.runs.map((run): RunSnapshot => {
        const events = this.chain(run.tail, [])
          .reverse()
          .map((l): [unknown, number, number, number, number] => [l.value, l.time, l.pos, l.index, l.step])
        return [run.startTime, run.startIndex, run.step, run.count, run.mask, run.accepted, events]
      })
      keys.push([st.key, st.index, num(st.queued), runs])
    }
    return {
      wm: num(this.wm),
      lastFinite: num(this.lastFinite),
      seq: this.seq,
      dseq: this.dseq,
      buffer: this.buffer.entries((d) => [d.value, d.time, d.key, d.pos]),
      deadlines: this.deadlines.entries((k) => k),
      keys,
    }
  }

  /** Replaces the state with one taken by `snapshot` from a matcher of the same spec. */
  restore(state: unknown): void {
    const s = state as MatcherSnapshot
    const nfa = this.nfa
    this.wm = unnum(s.wm, Number.NEGATIVE_INFINITY)
    this.lastFinite = unnum(s.lastFinite, Number.NEGATIVE_INFINITY)
    this.seq = s.seq
    this.dseq = s.dseq
    this.buffer.load(s.buffer, ([value, time, key, pos]) => ({ _tag: 'Data', value, time, key, pos }))
    this.deadlines.load(s.deadlines, (k) => k)
    this.keys.clear()
    for (const [key, index, queued, runs] of s.keys) {
      const st: KeyState = { key, index, queued: unnum(queued, Number.POSITIVE_INFINITY), runs: [] }
      for (const [startTime, startIndex, step, count, mask, accepted, events] of runs) {
        let tail: Link | null = null
        for (const [value, time, pos, idx, stp] of events) tail = { value, time, pos, index: idx, step: stp, prev: tail }
        const state = nfa.states[3 * step + countClass(count, nfa.min[step], nfa.max[step])]
        st.runs.push({ tail: tail!, step, count, state, mask, startTime, startIndex, accepted, matched: undefined })
      }
      this.keys.set(key, st)
    }
  }
}
