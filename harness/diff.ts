import type { Pipeline } from '../dsl/pipeline.ts'
import type { LogRecordInput } from './log.ts'
import { replay } from './replay.ts'
import type { RunMetrics } from './result.ts'

/** A log both versions can read: a file path, or records in memory (a stream can be read once only). */
export type ReplayableLog = string | readonly (string | LogRecordInput)[]

/** One result that differs between the two versions. */
export interface ResultDiff {
  /** `added`: only the new version has it; `removed`: only the old one; `changed`: both, with other values. */
  readonly kind: 'added' | 'removed' | 'changed'
  /** What the result is about, as text: `key ORD, window [start, end)`, `key 42`, or the match. */
  readonly identity: string
  /** The old version's final value (undefined when added). */
  readonly before?: unknown
  /** The new version's final value (undefined when removed). */
  readonly after?: unknown
  /**
   * Where the two versions' emissions for this result first part: the source position (log
   * offset) of the first emission that is not the same in both (the earlier of the two), as `onOutput`
   * reports it: for a window result, its last event so far; for a table row, the change's record.
   */
  readonly at: number
}

/** What `diff` finds. */
export interface DiffResult {
  readonly identical: boolean
  /** Every differing result, by the position where it diverged. */
  readonly differences: readonly ResultDiff[]
  readonly added: number
  readonly removed: number
  readonly changed: number
  /** Results both versions end with, with equal values. */
  readonly same: number
  /** Each version's run counters (late events and dead letters may differ too). */
  readonly metrics: { readonly before: RunMetrics; readonly after: RunMetrics }
}

/** The emissions of one result identity in one run. */
interface History {
  readonly texts: string[]
  readonly positions: number[]
  /** The result as the run ends with it (undefined once deleted from a changelog). */
  last: unknown
  present: boolean
  readonly label: string
}

/**
 * Replays `log` through two versions of a pipeline, in virtual time, and lists the results that
 * differ, matched by identity: a window result by its key and window bounds, a changelog entry (a
 * table, windows in `'updates'` mode) by its key, a pattern match by its key and events, any other
 * output by its `key` field, or else by its value. For each identity the versions' final results are
 * compared (the last emission; a changelog's `delete` removes it): `added`, `removed`, or `changed`,
 * each with the log offset where the two histories of emissions first part. `identical` is true when
 * no final result differs.
 *
 * @example
 * const d = await diff(hourly, hourlyWithLateness, 'examples/data/flights.ndjson')
 * for (const c of d.differences) console.log(c.kind, c.identity, 'at offset', c.at)
 */
export async function diff<I, O, K, I2, O2, K2>(
  before: Pipeline<I, O, K>,
  after: Pipeline<I2, O2, K2>,
  log: ReplayableLog,
  options: { readonly topic?: string } = {},
): Promise<DiffResult> {
  if (typeof log !== 'string' && !Array.isArray(log))
    throw new TypeError('diff: the log must be a file path or an array of records (both versions read it, and a stream can be read once)')
  const a = await histories(before, log, options.topic)
  const b = await histories(after, log, options.topic)
  const differences: ResultDiff[] = []
  let same = 0
  for (const [id, ha] of a.byId) {
    const hb = b.byId.get(id)
    if (hb === undefined || !hb.present) {
      if (ha.present) differences.push({ kind: 'removed', identity: ha.label, before: ha.last, at: divergence(ha, hb) })
    } else if (!ha.present) differences.push({ kind: 'added', identity: hb.label, after: hb.last, at: divergence(ha, hb) })
    else if (canonicalText(ha.last) !== canonicalText(hb.last))
      differences.push({ kind: 'changed', identity: ha.label, before: ha.last, after: hb.last, at: divergence(ha, hb) })
    else same++
  }
  for (const [id, hb] of b.byId) if (!a.byId.has(id) && hb.present) differences.push({ kind: 'added', identity: hb.label, after: hb.last, at: hb.positions[0] })
  differences.sort((x, y) => x.at - y.at || (x.identity < y.identity ? -1 : x.identity > y.identity ? 1 : 0))
  const count = (k: ResultDiff['kind']) => differences.filter((d) => d.kind === k).length
  return {
    identical: differences.length === 0,
    differences,
    added: count('added'),
    removed: count('removed'),
    changed: count('changed'),
    same,
    metrics: { before: a.metrics, after: b.metrics },
  }
}

/** Where two histories of one identity first differ: the position of the first emission that is not the same in both. */
function divergence(a: History, b: History | undefined): number {
  if (b === undefined) return a.positions[0]
  const n = Math.min(a.texts.length, b.texts.length)
  for (let i = 0; i < n; i++) if (a.texts[i] !== b.texts[i] || a.positions[i] !== b.positions[i]) return Math.min(a.positions[i], b.positions[i])
  return a.texts.length > n ? a.positions[n] : b.positions[n]
}

async function histories<I, O, K>(p: Pipeline<I, O, K>, log: ReplayableLog, topic: string | undefined) {
  const byId = new Map<string, History>()
  // Outputs identified by their value: equal values are told apart by their order.
  const seenValues = new Map<string, number>()
  const result = await replay(p, log as string, {
    topic,
    keepOutput: false,
    keepSideOutputs: 0,
    onOutput: (o, pos) => {
      const text = canonicalText(o)
      const change = asChange(o)
      let { id, label } = identityOf(change === undefined ? o : change.key, change !== undefined)
      if (id === undefined) {
        const k = (seenValues.get(text) ?? 0) + 1
        seenValues.set(text, k)
        id = `value:${k}:${text}`
        label = k === 1 ? text : `${text} (#${k})`
      }
      let h = byId.get(id)
      if (h === undefined) byId.set(id, (h = { texts: [], positions: [], last: undefined, present: false, label }))
      h.texts.push(text)
      h.positions.push(pos)
      h.present = change === undefined || change.op === 'upsert'
      h.last = change === undefined ? o : change.op === 'upsert' ? change.after : undefined
    },
  })
  return { byId, metrics: result.metrics }
}

/** A changelog entry (`Change`): a table's or `'updates'` windows' output. */
const asChange = (o: unknown): { op: 'upsert' | 'delete'; key: unknown; after?: unknown } | undefined => {
  if (typeof o !== 'object' || o === null) return undefined
  const c = o as { op?: unknown; key?: unknown }
  return (c.op === 'upsert' || c.op === 'delete') && 'key' in c ? (c as { op: 'upsert' | 'delete'; key: unknown }) : undefined
}

/** The identity of an output, or undefined when it has none but its value. */
function identityOf(o: unknown, isKey: boolean): { id: string | undefined; label: string } {
  if (isKey) return { id: `key:${canonicalText(o)}`, label: `key ${keyText(o)}` }
  if (typeof o !== 'object' || o === null) return { id: undefined, label: '' }
  const r = o as { _tag?: unknown; key?: unknown; window?: { start?: unknown; end?: unknown }; events?: unknown; start?: unknown }
  if ((r._tag === 'Match' || r._tag === 'Timeout') && 'events' in r)
    return { id: `${r._tag}:${canonicalText([r.key, r.events])}`, label: `${r._tag === 'Match' ? 'match' : 'timeout'} of key ${keyText(r.key)} over ${canonicalText(r.events)}` }
  if ('key' in r && typeof r.window === 'object' && r.window !== null && typeof r.window.start === 'number' && typeof r.window.end === 'number')
    return {
      id: `window:${canonicalText(r.key)}:${r.window.start}:${r.window.end}`,
      label: `key ${keyText(r.key)}, window [${time(r.window.start)}, ${time(r.window.end)})`,
    }
  if ('key' in r) return { id: `key:${canonicalText(r.key)}`, label: `key ${keyText(r.key)}` }
  return { id: undefined, label: '' }
}

const keyText = (k: unknown): string => (typeof k === 'string' ? k : canonicalText(k))

const time = (t: number): string => (Math.abs(t) <= 8.64e15 ? new Date(t).toISOString().replace(/:00\.000Z$/, 'Z') : String(t))

/**
 * A value as text for comparing: JSON with object keys sorted (building an object in another order
 * is not a change), with what JSON cannot hold written out (`NaN`, `1n`, `undefined`).
 */
export function canonicalText(v: unknown): string {
  if (v === undefined) return 'undefined'
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? String(v)
  if (Array.isArray(v)) return `[${v.map(canonicalText).join(',')}]`
  const keys = Object.keys(v).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalText((v as Record<string, unknown>)[k])}`).join(',')}}`
}
