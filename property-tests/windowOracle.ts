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

/** One result: `seg` is how many watermarks the operator had forwarded before it. */
export interface OEmission {
  readonly seg: number
  readonly key: string
  readonly start: number
  readonly end: number
  readonly value: OValue
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
}

interface OWin {
  readonly key: string
  readonly start: number
  readonly end: number
  readonly events: OEvent[]
  fired: boolean
  alive: boolean
  superseded: boolean
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

  const emit = (w: OWin) => emissions.push({ seg, key: w.key, start: w.start, end: w.end, value: valueOf(w.events) })
  // A change to a window that is already due (W >= end) is emitted at once; otherwise it waits to fire.
  const changed = (w: OWin) => {
    w.fired = w.end <= W
    if (w.fired) emit(w)
  }
  const open = (key: string, start: number, end: number, events: OEvent[]): OWin => {
    const w: OWin = { key, start, end, events, fired: false, alive: true, superseded: false }
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
      const targets = all.filter(([, end]) => end + L > W)
      if (targets.length === 0) late.push({ id: e.id, watermark: W, windows: all.map(([start, end]) => ({ start, end })) })
      for (const [start, end] of targets) {
        const w = aliveOf(k).find((x) => x.start === start && x.end === end) ?? open(k, start, end, [])
        w.events.push(e)
        changed(w)
      }
    } else if (a._tag === 'Sliding') {
      const own = t + 1 + L > W
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
      if (overlapping.length === 0) {
        if (t + gap + L <= W) late.push({ id: e.id, watermark: W, windows: [{ start: t, end: t + gap }] })
        else changed(open(k, t, t + gap, [e]))
      } else {
        for (const w of overlapping) ((w.alive = false), (w.superseded = true))
        const start = Math.min(t, ...overlapping.map((w) => w.start))
        const end = Math.max(t + gap, ...overlapping.map((w) => w.end))
        changed(open(k, start, end, [...overlapping.flatMap((w) => w.events), e]))
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
  return { emissions, late, table }
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
