/**
 * Operator state at a point of a run, in readable form: what `replay(p, log, { inspect })` and
 * `weir state` report. It is read from the machines' checkpoint snapshots (the same `snapshot()` a
 * checkpoint saves), so it is exactly the state a checkpoint taken there would restore.
 */
import type { AnyPipeline } from '../dsl/pipeline.ts'
import { planNodes } from '../dsl/plan.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import { SOURCE, type Key, type Node } from '../dsl/stream.ts'
import type { WindowSpec } from '../dsl/windows.ts'
import type { MatchSpec } from '../dsl/patterns.ts'
import type { StageRef, Stateful } from '../operators/core/machine.ts'
import { copyState } from '../operators/core/taggedJson.ts'
import { compileAggregator } from '../operators/windows/aggregator.ts'

/** An event held in state: its value, event time and log offset. */
export interface HeldEvent {
  readonly value: unknown
  readonly time: number
  readonly offset: number
}

/** An open window: its key, bounds `[start, end)`, and its aggregate so far. */
export interface OpenWindow {
  readonly key: Key
  readonly start: number
  readonly end: number
  /** The aggregate of the events so far, as the window would emit it now (its accumulator when the aggregation's `result` throws). */
  readonly partial: unknown
  /** True once the watermark has passed `end` (it stays open for allowed lateness). */
  readonly fired: boolean
}

/** A partial match of a pattern: the steps it has taken, and when it expires. */
export interface PendingMatch {
  readonly key: Key
  readonly start: number
  /** `start + within`, or undefined for a pattern without `within`. */
  readonly deadline: number | undefined
  /** The step it is in (the last step an event went to). */
  readonly step: string
  /** Its events so far, each with the step it went to. */
  readonly events: readonly (HeldEvent & { readonly step: string })[]
}

/** One version of a row a temporal join keeps: valid from `from` until the next one's `from`. */
export interface TableVersion {
  readonly from: number
  readonly value: unknown
  readonly deleted: boolean
}

/** Events one key holds in a join's buffers. */
export interface JoinBuffer {
  readonly key: Key
  readonly left: readonly (HeldEvent & { readonly matched: boolean })[]
  readonly right: readonly (HeldEvent & { readonly matched: boolean })[]
}

/** What one stateful stage holds, by the kind of stage. */
export type StageContents =
  | { readonly kind: 'window'; readonly watermark: number | null; readonly windows: readonly OpenWindow[] }
  | {
      readonly kind: 'pattern'
      readonly watermark: number | null
      /** Events waiting for the watermark to pass them before they are matched. */
      readonly buffered: readonly (HeldEvent & { readonly key: Key })[]
      readonly pending: readonly PendingMatch[]
    }
  | { readonly kind: 'table'; readonly size: number; readonly rows: readonly (readonly [Key, unknown])[] }
  | { readonly kind: 'windowJoin'; readonly watermark: number | null; readonly buffers: readonly JoinBuffer[] }
  | { readonly kind: 'tableJoin'; readonly size: number; readonly rows: readonly (readonly [Key, unknown])[] }
  | {
      readonly kind: 'tableTableJoin'
      readonly left: readonly (readonly [Key, unknown])[]
      readonly right: readonly (readonly [Key, unknown])[]
    }
  | {
      readonly kind: 'temporalJoin'
      readonly watermark: number | null
      /** Per key, the versions still kept (valid from `from`; `deleted` for a delete), oldest first. */
      readonly versions: readonly { readonly key: Key; readonly versions: readonly TableVersion[] }[]
      /** Events waiting for the watermark to pass them before they are joined, in time order. */
      readonly waiting: readonly (HeldEvent & { readonly key: Key })[]
    }
  /** A named source of a multi-source pipeline: its own watermark and the latest event time it has seen. */
  | { readonly kind: 'source'; readonly watermark: number | null; readonly maxEventTime: number | null }
  /** Any other stage (dedupe, microbatch): its snapshot as it is. */
  | { readonly kind: 'other'; readonly snapshot: unknown }

/** One stateful stage's state: its step in the plan (as `explain` numbers it), what it is, what it holds. */
export interface StageState {
  readonly step: number
  /** The stage's state shape, as checkpoints fingerprint it (`stateShapes`). */
  readonly stage: string
  readonly state: StageContents
}

/** Every stateful stage's state after the records up to `offset` have gone in. */
export interface StateAt {
  /** The log offset asked for: the state is the one after this record, before the next. */
  readonly offset: number
  /** The source's watermark and the largest event time it has seen (null: none yet). */
  readonly source: { readonly watermark: number | null; readonly maxEventTime: number | null }
  readonly stages: readonly StageState[]
}

/** Keys in a stable, readable order: numbers before strings, each in natural order. */
const compareKeys = (a: Key, b: Key): number =>
  typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a === 'number' ? -1 : 1
const byKey0 = (a: readonly [Key, unknown], b: readonly [Key, unknown]): number => compareKeys(a[0], b[0])

const finite = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

type WinState = { key: Key; start: number; end: number; acc: unknown; fired: boolean }
type RunSnapshot = [number, number, number, number, number, boolean, [unknown, number, number, number, number][]]
type MatcherSnapshot = {
  wm: number | null
  buffer: [number, number, [unknown, number, Key, number]][]
  keys: [Key, number, number | null, RunSnapshot[]][]
}
type EntryState = [0 | 1, Key, unknown, number, number, boolean]

function windowContents(spec: WindowSpec, s: { watermark: number | null; windows: WinState[] }): StageContents {
  const agg = compileAggregator(spec.aggregation)
  const partial = (acc: unknown): unknown => {
    try {
      return agg.result(copyState(acc))
    } catch {
      return acc
    }
  }
  const windows = s.windows
    .map((w): OpenWindow => ({ key: w.key, start: w.start, end: w.end, partial: partial(w.acc), fired: w.fired }))
    .sort((a, b) => a.start - b.start || a.end - b.end || compareKeys(a.key, b.key))
  return { kind: 'window', watermark: finite(s.watermark), windows }
}

function patternContents(spec: MatchSpec, s: MatcherSnapshot): StageContents {
  const names = spec.pattern.steps.filter((st) => st._tag === 'Step').map((st) => st.name)
  const within = spec.pattern.within
  const pending: PendingMatch[] = []
  for (const [key, , , runs] of s.keys)
    for (const [startTime, , step, , , , events] of runs)
      pending.push({
        key,
        start: startTime,
        deadline: within === undefined ? undefined : startTime + within,
        step: names[step] ?? String(step),
        events: events.map(([value, time, pos, , st]) => ({ value, time, offset: pos, step: names[st] ?? String(st) })),
      })
  const buffered = s.buffer
    .map(([, , [value, time, key, pos]]) => ({ key, value, time, offset: pos }))
    .sort((a, b) => a.time - b.time || a.offset - b.offset)
  return { kind: 'pattern', watermark: finite(s.wm), buffered, pending }
}

function windowJoinContents(s: { watermark: number | null; entries: EntryState[] }): StageContents {
  const byKey = new Map<Key, { left: JoinBuffer['left'][number][]; right: JoinBuffer['right'][number][] }>()
  for (const [side, key, value, time, pos, matched] of s.entries) {
    let b = byKey.get(key)
    if (b === undefined) byKey.set(key, (b = { left: [], right: [] }))
    ;(side === 0 ? b.left : b.right).push({ value, time, offset: pos, matched })
  }
  return { kind: 'windowJoin', watermark: finite(s.watermark), buffers: [...byKey].sort(byKey0).map(([key, b]) => ({ key, ...b })) }
}

/** The lowest watermark of a multi-source pipeline's sources (none until each has one), and the largest event time any has seen. */
function slowestOf(stages: readonly StageState[]): StateAt['source'] {
  let watermark: number | null = Number.POSITIVE_INFINITY
  let maxEventTime: number | null = null
  for (const { state } of stages) {
    if (state.kind !== 'source') continue
    watermark = watermark === null || state.watermark === null ? null : Math.min(watermark, state.watermark)
    if (state.maxEventTime !== null && (maxEventTime === null || state.maxEventTime > maxEventTime)) maxEventTime = state.maxEventTime
  }
  return { watermark, maxEventTime }
}

function contentsOf(n: Node, snapshot: unknown): StageContents {
  const kind = n._tag === 'Operator' ? n.kind : n._tag
  const s = snapshot as never
  switch (kind) {
    case 'Window':
      return windowContents((n as { spec: WindowSpec }).spec, s)
    case 'Match':
      return patternContents((n as { spec: MatchSpec }).spec, s)
    case 'Table': {
      const rows = (s as { rows: [Key, unknown][] }).rows
      return { kind: 'table', size: rows.length, rows }
    }
    case 'WindowJoin':
      return windowJoinContents(s)
    case 'TableJoin': {
      const rows = (s as { rows: [Key, unknown][] }).rows
      return { kind: 'tableJoin', size: rows.length, rows }
    }
    case 'TableTableJoin': {
      const t = s as { left: [Key, unknown][]; right: [Key, unknown][] }
      return { kind: 'tableTableJoin', left: t.left, right: t.right }
    }
    case 'TemporalJoin': {
      const t = s as { watermark: number | null; versions: [Key, TableVersion[]][]; waiting: { value: unknown; time: number; key: Key; pos: number; seq: number }[] }
      const waiting = [...t.waiting].sort((a, b) => a.time - b.time || a.seq - b.seq).map((e) => ({ key: e.key, value: e.value, time: e.time, offset: e.pos }))
      return { kind: 'temporalJoin', watermark: t.watermark, versions: t.versions.map(([key, versions]) => ({ key, versions })), waiting }
    }
    case 'NamedSource': {
      const st = s as { maxSeen: number | null; wm: number | null }
      return { kind: 'source', watermark: finite(st.wm), maxEventTime: finite(st.maxSeen) }
    }
    default:
      return { kind: 'other', snapshot }
  }
}

/**
 * The state of `p`'s stateful stages, read from its machines (`machines[i]` created for the plan
 * node `stages[i]`, as the run's `MachineRegistry` holds them) after the record at `offset`. Each machine's
 * snapshot is copied, so the run can go on.
 */
export function stateOf(p: AnyPipeline, machines: readonly Stateful[], stages: readonly (StageRef | undefined)[], offset: number): StateAt {
  const { steps, nodes } = planNodes(p)
  const shapes = new Map(stateShapes(p).map((s) => [s.step, s.shape]))
  let source: StateAt['source'] = { watermark: null, maxEventTime: null }
  const byStep = new Map<number, { node: Node; snapshots: unknown[] }>()
  for (let i = 0; i < machines.length; i++) {
    const snapshot = copyState(machines[i].snapshot?.())
    const stage = stages[i]
    if (stage === SOURCE) {
      const st = snapshot as { maxSeen: number | null; wm: number | null }
      source = { watermark: finite(st.wm), maxEventTime: finite(st.maxSeen) }
      continue
    }
    const at = nodes.indexOf(stage as Node)
    // Every machine a compiled pipeline makes is registered with its node (see `stageContext`).
    if (at < 0) throw new Error(`inspect: a stateful machine of pipeline '${p.name}' belongs to no step of its plan`)
    const step = steps[at].id
    let entry = byStep.get(step)
    if (entry === undefined) byStep.set(step, (entry = { node: nodes[at], snapshots: [] }))
    entry.snapshots.push(snapshot)
  }
  const out: StageState[] = []
  for (const [step, { node, snapshots }] of [...byStep].sort((a, b) => a[0] - b[0]))
    for (const snapshot of snapshots)
      out.push({ step, stage: shapes.get(step) ?? steps[step - 1].label, state: contentsOf(node, snapshot) })
  // With several sources, the input's own watermark is only the records' arrival: what holds back a
  // stage reading them all is the slowest source's watermark.
  if (p.sources !== undefined) source = slowestOf(out)
  return { offset, source, stages: out }
}
