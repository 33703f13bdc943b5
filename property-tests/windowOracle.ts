/**
 * A brute-force model of docs/semantics.md "Windows", written straight from the text and sharing no code
 * with the operator: windows are kept as plain lists of their events, every watermark scans all of
 * them, and values are recomputed from scratch. The property suites run it next to the operator;
 * it is exported (as `windowOracle`) for users checking their own window pipelines the same way.
 */
import type { WindowAssigner } from '../dsl/windows.ts'

/** An event of a generated log: key, event time, value, and its position (unique). */
export interface OEvent {
  readonly k: string
  readonly t: number
  readonly v: number
  readonly id: number
}

/** The value the suites aggregate, computed here from a window's events directly. */
export interface OValue {
  readonly n: number
  readonly sum: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly ids: readonly number[]
}

/** Window bounds `[start, end)`. */
export interface OBounds {
  readonly start: number
  readonly end: number
}

/**
 * One result: `seg` is how many watermarks the operator had forwarded before it. `replaces` (only
 * when not empty, by start): the earlier results of its key, under other bounds, that it supersedes.
 */
export interface OEmission {
  readonly seg: number
  readonly key: string
  readonly start: number
  readonly end: number
  readonly value: OValue
  readonly replaces?: readonly OBounds[]
}

export interface OLate {
  readonly id: number
  readonly watermark: number
  readonly windows: readonly { readonly start: number; readonly end: number }[]
}

export interface OracleResult {
  /** `'final'` mode: every emission, in segments. */
  readonly emissions: OEmission[]
  readonly late: OLate[]
  /** `'updates'` mode: the table the changelog leaves, by window id `[key, start, end]`. */
  readonly table: Map<string, OValue>
  /** What the log exercised, for suites that report or assert their coverage. */
  readonly coverage: OracleCoverage
}

/** Counts of the cases a log exercised, as the model saw them. */
export interface OracleCoverage {
  /** Events judged at a watermark exactly at a boundary: `end + L == W` for one of their windows (tumbling, hopping; `t + 1 + L == W` sliding, `t + gap + L == W` session). */
  readonly atBoundary: number
  /** Session events that merged two or more open sessions. */
  readonly merges: number
  /** Of those, merges where a session had already fired (`W >= end`) but was not yet freed. */
  readonly mergesOfFired: number
}

interface OWin {
  readonly key: string
  readonly start: number
  readonly end: number
  readonly events: OEvent[]
  fired: boolean
  alive: boolean
  superseded: boolean
  /** A result was emitted for it (`'final'` mode). */
  emitted: boolean
  /**
   * Results, emitted for windows it superseded, that no emitted result has replaced yet: the
   * superseded window's own when it was emitted, else what it would itself have replaced.
   */
  stale: OBounds[]
}

export const valueOf = (events: readonly OEvent[]): OValue => {
  const vs = events.map((e) => e.v)
  const sum = vs.reduce((a, b) => a + b, 0)
  return {
    n: vs.length,
    sum,
    min: Math.min(...vs),
    max: Math.max(...vs),
    mean: sum / vs.length,
    ids: events.map((e) => e.id).sort((a, b) => a - b),
  }
}

export const idOf = (key: string, start: number, end: number): string => JSON.stringify([key, start, end])

/** Every window `[start, end)` an event at `t` belongs to (tumbling and hopping). */
const alignedWindows = (a: WindowAssigner, t: number): [number, number][] => {
  if (a._tag === 'Tumbling') {
    const start = Math.floor((t - a.offset) / a.size) * a.size + a.offset
    return [[start, start + a.size]]
  }
  if (a._tag !== 'Hopping') throw new Error('not aligned')
  const out: [number, number][] = []
  // Scan every k whose window could hold t: brute force rather than the operator's closed form.
  for (let k = Math.floor((t - a.size) / a.hop) - 1; k * a.hop <= t + 1; k++)
    if (k * a.hop <= t && t < k * a.hop + a.size) out.push([k * a.hop, k * a.hop + a.size])
  return out
}

/**
 * Runs the model over a log in arrival order with `boundedOutOfOrder(d)` watermarks (emitted after
 * an event that raises the maximum, `+Infinity` at the end) and allowed lateness `L`.
 */
export function oracle(a: WindowAssigner, L: number, d: number, log: readonly OEvent[]): OracleResult {
  let W = Number.NEGATIVE_INFINITY
  let maxT = Number.NEGATIVE_INFINITY
  let seg = 0
  const wins: OWin[] = []
  const accepted: OEvent[] = []
  const emissions: OEmission[] = []
  const late: OLate[] = []
  const coverage = { atBoundary: 0, merges: 0, mergesOfFired: 0 }

  // A result replaces the stale results it inherited, except one under its own bounds (a consumer
  // keyed by (key, window) overwrites that one anyway).
  const emit = (w: OWin) => {
    const replaces = w.stale.filter((b) => b.start !== w.start || b.end !== w.end).sort((x, y) => x.start - y.start || x.end - y.end)
    emissions.push({ seg, key: w.key, start: w.start, end: w.end, value: valueOf(w.events), ...(replaces.length > 0 ? { replaces } : {}) })
    w.emitted = true
    w.stale = []
  }
  // A change to a window that is already due (W >= end) is emitted at once; otherwise it waits to fire.
  const changed = (w: OWin) => {
    w.fired = w.end <= W
    if (w.fired) emit(w)
  }
  const open = (key: string, start: number, end: number, events: OEvent[], stale: OBounds[] = []): OWin => {
    const w: OWin = { key, start, end, events, fired: false, alive: true, superseded: false, emitted: false, stale }
    wins.push(w)
    return w
  }
  const aliveOf = (key: string) => wins.filter((w) => w.alive && w.key === key)
  const advance = (w2: number) => {
    W = w2
    for (const w of wins) if (w.alive && !w.fired && w.end <= W) ((w.fired = true), emit(w))
    for (const w of wins) if (w.alive && w.end + L <= W) w.alive = false
    seg++
  }

  for (const e of log) {
    const { k, t } = e
    if (a._tag === 'Tumbling' || a._tag === 'Hopping') {
      const all = alignedWindows(a, t)
      if (all.some(([, end]) => end + L === W)) coverage.atBoundary++
      const targets = all.filter(([, end]) => end + L > W)
      if (targets.length === 0) late.push({ id: e.id, watermark: W, windows: all.map(([start, end]) => ({ start, end })) })
      for (const [start, end] of targets) {
        const w = aliveOf(k).find((x) => x.start === start && x.end === end) ?? open(k, start, end, [])
        w.events.push(e)
        changed(w)
      }
    } else if (a._tag === 'Sliding') {
      const own = t + 1 + L > W
      if (t + 1 + L === W) coverage.atBoundary++
      const joinable = aliveOf(k).filter((w) => w.start <= t && t < w.end)
      if (!own && joinable.length === 0)
        late.push({ id: e.id, watermark: W, windows: [{ start: t - a.size + 1, end: t + 1 }] })
      else {
        accepted.push(e)
        for (const w of joinable) {
          w.events.push(e)
          changed(w)
        }
        if (own && !joinable.some((w) => w.end === t + 1)) {
          const start = t - a.size + 1
          changed(open(k, start, t + 1, accepted.filter((x) => x.k === k && x.t >= start && x.t <= t)))
        }
      }
    } else {
      const gap = a.gap
      const overlapping = aliveOf(k).filter((w) => w.start < t + gap && t < w.end)
      if (t + gap + L === W) coverage.atBoundary++
      if (overlapping.length >= 2) {
        coverage.merges++
        if (overlapping.some((w) => w.fired)) coverage.mergesOfFired++
      }
      if (overlapping.length === 0) {
        if (t + gap + L <= W) late.push({ id: e.id, watermark: W, windows: [{ start: t, end: t + gap }] })
        else changed(open(k, t, t + gap, [e]))
      } else {
        for (const w of overlapping) ((w.alive = false), (w.superseded = true))
        const start = Math.min(t, ...overlapping.map((w) => w.start))
        const end = Math.max(t + gap, ...overlapping.map((w) => w.end))
        const stale = overlapping.flatMap((w) => (w.emitted ? [{ start: w.start, end: w.end }] : w.stale))
        changed(open(k, start, end, [...overlapping.flatMap((w) => w.events), e], stale))
      }
    }
    if (t > maxT) {
      maxT = t
      if (t - d > W) advance(t - d)
    }
  }
  advance(Number.POSITIVE_INFINITY)

  const table = new Map<string, OValue>()
  for (const w of wins) if (!w.superseded) table.set(idOf(w.key, w.start, w.end), valueOf(w.events))
  return { emissions, late, table, coverage }
}

/** Sessions by definition: per key, maximal runs of (sorted) times with consecutive gaps `< gap`. */
export function sessionsOf(log: readonly OEvent[], gap: number): Map<string, OValue> {
  const out = new Map<string, OValue>()
  const keys = [...new Set(log.map((e) => e.k))]
  for (const k of keys) {
    const es = log.filter((e) => e.k === k).sort((x, y) => x.t - y.t)
    let run: OEvent[] = []
    const close = () => {
      if (run.length > 0) out.set(idOf(k, run[0].t, run[run.length - 1].t + gap), valueOf(run))
      run = []
    }
    for (const e of es) {
      if (run.length > 0 && e.t - run[run.length - 1].t >= gap) close()
      run.push(e)
    }
    close()
  }
  return out
}
