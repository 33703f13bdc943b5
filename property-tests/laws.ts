import type { Pipeline } from '../dsl/pipeline.ts'
import type { Change } from '../dsl/change.ts'
import { lineModel } from './logModel.ts'
import { replay, type ReplayOptions } from '../harness/replay.ts'
import type { RunResult } from '../harness/result.ts'
import { run } from '../harness/run.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import type { Checkpoint, CheckpointStore } from '../harness/checkpoint.ts'

/** A violated law: the message says which law and how it failed. */
export class LawViolation extends Error {
  override readonly name = 'LawViolation'
}

/** What a law may pass on to `replay` (callbacks are the law's own). */
export type LawOptions = Pick<ReplayOptions<unknown>, 'highWaterMark' | 'topic' | 'batchSize'>

type AnyPipeline = Pipeline<any, any, any>

const firstDifference = (a: string, b: string): string => {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return `first difference at character ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 40), i + 40))} vs ${JSON.stringify(b.slice(Math.max(0, i - 40), i + 40))}`
}

/**
 * A value written out so that two values read the same only if they are the same data: unlike
 * JSON, Maps and Sets show their contents, `NaN`, `Infinity`, `undefined` and BigInts show as
 * themselves, and class instances show their class. What the laws compare outputs by.
 *
 * @example
 * canonical(new Map([['a', NaN]])) // 'Map{"a"=>NaN}'
 */
export function canonical(x: unknown): string {
  const open = new Set<object>()
  const go = (v: unknown): string => {
    switch (typeof v) {
      case 'number':
        return Number.isFinite(v) ? JSON.stringify(v) : String(v)
      case 'string':
        return JSON.stringify(v)
      case 'boolean':
        return String(v)
      case 'undefined':
        return 'undefined'
      case 'bigint':
        return `${v}n`
      case 'symbol':
        return v.toString()
      case 'function':
        return `[function ${v.name}]`
    }
    if (v === null) return 'null'
    const o = v as Record<string, unknown>
    if (open.has(o)) return '[cycle]'
    open.add(o)
    try {
      if (Array.isArray(o)) return `[${o.map(go).join(',')}]`
      if (o instanceof Map) return `Map{${[...o].map(([k, x]) => `${go(k)}=>${go(x)}`).join(',')}}`
      if (o instanceof Set) return `Set{${[...o].map(go).join(',')}}`
      if (o instanceof Date) return `Date(${o.getTime()})`
      const body = Object.keys(o)
        .map((k) => `${JSON.stringify(k)}:${go(o[k])}`)
        .join(',')
      const name = (Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null)?.constructor?.name
      return name === undefined || name === 'Object' ? `{${body}}` : `${name}{${body}}`
    } finally {
      open.delete(o)
    }
  }
  return go(x)
}

/**
 * Replay determinism: replaying the same log through the same pipeline `runs` times gives
 * identical `out`, `late` and `deadLetters` (compared as `canonical` text, which unlike JSON sees
 * into Maps and Sets). Throws a `LawViolation` naming the first difference.
 *
 * @example
 * await replayIsDeterministic(sessions, log.lines)
 */
export async function replayIsDeterministic(p: AnyPipeline, lines: readonly string[], opts: LawOptions & { runs?: number } = {}): Promise<void> {
  const runs = opts.runs ?? 2
  let first: string | undefined
  for (let i = 0; i < runs; i++) {
    const r = await replay(p, lines, opts)
    const bytes = canonical({ out: r.out, late: r.late, deadLetters: r.deadLetters })
    if (first === undefined) first = bytes
    else if (bytes !== first) throw new LawViolation(`replay is not deterministic: run ${i + 1} differs from run 1, ${firstDifference(first, bytes)}`)
  }
}

/**
 * Watermarks are monotone: the watermarks reaching the end of the pipeline strictly increase,
 * whatever order the log delivers events in, and the last one is the end of input (`+Infinity`).
 *
 * @example
 * await watermarksAreMonotone(sessions, shuffledLog.lines)
 */
export async function watermarksAreMonotone(p: AnyPipeline, lines: readonly string[], opts: LawOptions = {}): Promise<void> {
  const marks: number[] = []
  await replay(p, lines, { ...opts, keepOutput: false, onWatermark: (w) => marks.push(w) })
  for (let i = 1; i < marks.length; i++)
    if (!(marks[i] > marks[i - 1]))
      throw new LawViolation(`watermarks went from ${marks[i - 1]} to ${marks[i]} (watermark #${i + 1} of ${marks.length})`)
  if (marks.at(-1) !== Number.POSITIVE_INFINITY)
    throw new LawViolation(`the last watermark is ${String(marks.at(-1))}, not +Infinity (end of input)`)
}

/**
 * Every input line is accounted for, each exactly once: every record comes out as exactly one
 * output, dead letter or late event carrying its position (its offset), and every malformed line as
 * a dead letter at its line number. With `topic`, only that topic's records count (and malformed
 * lines). Holds for pipelines that turn each accepted event into exactly one output (no `filter`,
 * `flatMap` or aggregation); a pipeline that loses one event and emits another twice breaks it even
 * though the totals agree. For a pipeline that filters, aggregates, joins or matches, use
 * `everyInputIsAccountedFor`: this law would fail there (two events in one window are one output).
 *
 * @example
 * await everyLineIsAccountedFor(enrich, log.lines)
 */
export async function everyLineIsAccountedFor(p: AnyPipeline, lines: readonly string[], opts: LawOptions = {}): Promise<void> {
  const want = new Map<string, number>()
  const got = new Map<string, number>()
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)
  // What the lines hold, by the format's definition (property-tests/logModel.ts), not by the reader under test.
  lines.forEach((l, i) => {
    const e = lineModel(l, i + 1)
    if (e.kind === 'malformed') bump(want, `line ${e.line}`)
    else if (e.kind === 'record' && (opts.topic === undefined || e.topic === opts.topic)) bump(want, `offset ${e.offset}`)
  })
  const { metrics, deadLetters, late } = await replay(p, lines, { ...opts, keepOutput: false, onOutput: (_o, pos) => bump(got, `offset ${pos}`) })
  for (const d of deadLetters) bump(got, d.reason === 'parse' ? `line ${d.pos}` : `offset ${d.pos}`)
  for (const l of late) bump(got, `offset ${l.pos}`)
  const input = [...want.values()].reduce((a, b) => a + b, 0)
  const accounted = metrics.eventsOut + metrics.deadLetters + metrics.late
  if (accounted !== input || metrics.eventsIn !== input)
    throw new LawViolation(
      `${input} input lines, but ${metrics.eventsOut} out + ${metrics.deadLetters} dead letters + ${metrics.late} late = ${accounted} (eventsIn ${metrics.eventsIn})` +
        // Fewer outputs than inputs is what any filter or aggregation gives: this law is the wrong one there.
        (accounted < input && metrics.eventsIn === input ? '; this law is for 1:1 pipelines: for one that filters, aggregates, joins or matches, use everyInputIsAccountedFor' : ''),
    )
  for (const k of new Set([...want.keys(), ...got.keys()]))
    if ((want.get(k) ?? 0) !== (got.get(k) ?? 0))
      throw new LawViolation(`${k}: ${want.get(k) ?? 0} input line(s), but ${got.get(k) ?? 0} output(s), dead letter(s) and late event(s) from it`)
}

/** How a law compares two runs' outputs: by default as a multiset of JSON values (order ignored). */
export type Finalize = (out: readonly unknown[]) => unknown

const asMultiset: Finalize = (out) => out.map(canonical).sort()

/**
 * Order-insensitivity: two arrival orders of the same events (e.g. a log and
 * `reorderedWithin(log, d)`) give the same final results and the same late events (when the
 * disorder stays within the pipeline's bound, that is usually none, but the law only asks that both
 * orders agree). `finalize` reduces outputs to what must
 * agree: by default the multiset of outputs (right for `'final'` windows); for a changelog, the
 * table it leaves (`changelogTable`).
 *
 * @example
 * await orderInsensitive(perMinute, log.lines, reordered.lines)
 */
export async function orderInsensitive(
  p: AnyPipeline,
  lines: readonly string[],
  reordered: readonly string[],
  opts: LawOptions & { finalize?: Finalize } = {},
): Promise<void> {
  const [a, b] = await sameResults(p, lines, reordered, opts, opts.finalize ?? asMultiset, 'another arrival order')
  const late = (r: typeof a) => r.late.map((l) => canonical(l.value)).sort()
  const [la, lb] = [canonical(late(a)), canonical(late(b))]
  if (la !== lb) throw new LawViolation(`another arrival order changed the late events: ${la} vs ${lb}`)
}

/**
 * Idempotency under redelivery: the log with some records delivered again (same offset and event,
 * later arrival, as an at-least-once broker does after a crash: `redelivered(log)`) leaves what the
 * log delivered once leaves, in an idempotent sink. `finalize` says what that sink holds: by
 * default the set of distinct outputs (an upsert of the same output twice is one row); for a
 * changelog, `changelogTable`. A pipeline that counts a redelivered event twice (a window without
 * `dedupe`, with a watermark bound that still admits it) breaks it.
 *
 * @example
 * await idempotentUnderRedelivery(perMinute, log.lines, again.lines)
 */
export async function idempotentUnderRedelivery(
  p: AnyPipeline,
  lines: readonly string[],
  redeliveredLines: readonly string[],
  opts: LawOptions & { finalize?: Finalize } = {},
): Promise<void> {
  await sameResults(p, lines, redeliveredLines, opts, opts.finalize ?? asSet, 'redelivered records')
}

/** Replays two logs; throws when `finalize` of their outputs differs, saying `what` changed them. */
async function sameResults(
  p: AnyPipeline,
  lines: readonly string[],
  other: readonly string[],
  opts: LawOptions,
  finalize: Finalize,
  what: string,
): Promise<[RunResult<unknown>, RunResult<unknown>]> {
  const [a, b] = [await replay(p, lines, opts), await replay(p, other, opts)]
  const [fa, fb] = [canonical(finalize(a.out)), canonical(finalize(b.out))]
  if (fa !== fb) throw new LawViolation(`${what} changed the results: ${firstDifference(fa, fb)}`)
  return [a, b]
}

const asSet: Finalize = (out) => [...new Set(out.map(canonical))].sort()

/**
 * The table a changelog leaves: the latest `after` per key, deleted keys removed, as a plain object
 * with sorted keys (so two tables compare as JSON).
 *
 * @example
 * changelogTable([upsert('a', 1), upsert('b', 2), remove('a', 1)]) // { '"b"': 2 }
 */
export function changelogTable(changes: readonly unknown[]): Record<string, unknown> {
  const t = new Map<string, unknown>()
  for (const c of changes as readonly Change<unknown, unknown>[]) {
    const k = JSON.stringify(c.key)
    if (c.op === 'delete') t.delete(k)
    else t.set(k, c.after)
  }
  return Object.fromEntries([...t.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
}

/**
 * A changelog converges to the final results: the table that a pipeline's `'updates'` changelog
 * leaves (applied to an upsert sink, any number of times) equals the last result per key of the
 * same pipeline in `'final'` mode, where `keyOf` gives a final result's changelog key (for windows:
 * `windowId(r.key, r.window)`).
 *
 * @example
 * await changelogMatchesFinal(sessionsUpdates, sessionsFinal, log.lines, (r) => windowId(r.key, r.window))
 */
export async function changelogMatchesFinal(
  updates: AnyPipeline,
  final: AnyPipeline,
  lines: readonly string[],
  keyOf: (result: any) => unknown,
  opts: LawOptions = {},
): Promise<void> {
  const [u, f] = [await replay(updates, lines, opts), await replay(final, lines, opts)]
  const table = canonical(changelogTable(u.out))
  const expected = canonical(changelogTable(f.out.map((r) => ({ op: 'upsert', key: keyOf(r), after: r }))))
  if (table !== expected) throw new LawViolation(`the changelog's table differs from the final results: ${firstDifference(expected, table)}`)
}

/** How `everyInputIsAccountedFor` reads a pipeline's results. */
export interface AccountingOptions<E, O> extends LawOptions {
  /** How many inputs a result stands for: a window's count (`(r) => r.value.n`), a match's events, 1 for a 1:1 stage. */
  readonly inputsOf: (result: O) => number
  /** The events the pipeline keeps (those a `filter` drops are expected to vanish); default: all. */
  readonly admits?: (event: E) => boolean
  /** Into how many results each kept input goes (a sliding window of size s and slide d: s / d); default 1. */
  readonly resultsPerInput?: number
  /**
   * The results that count, from all of them in order: by default all; for windows that re-emit
   * (`'updates'`, allowed lateness), the last result per window (e.g. `(out) => [...finalResults(out).values()]`).
   */
  readonly finalize?: (out: readonly O[]) => readonly O[]
}

/**
 * Every input is accounted for, in any pipeline: each record of the log either comes out as a dead
 * letter or a late event, or is dropped by design (`admits`), or joins results, and the results
 * (reduced by `finalize`) stand for exactly as many inputs as joined them (`inputsOf`, counting
 * `resultsPerInput` times each). Unlike `everyLineIsAccountedFor`, it holds for aggregating
 * pipelines: windows, matches, tables. A pipeline that loses an event (a window that never fires,
 * a record dropped between stages) or counts one twice breaks it.
 *
 * @example
 * await everyInputIsAccountedFor(clicksPerMinute, log.lines, { inputsOf: (r) => r.value })
 */
export async function everyInputIsAccountedFor<E, O>(p: Pipeline<E, O, any>, lines: readonly string[], opts: AccountingOptions<E, O>): Promise<void> {
  const { out, late, deadLetters } = await replay(p, lines, opts)
  // Side outputs per offset: a redelivered record has its original's offset, and one of the two may be late.
  const lost = new Map<number, number>()
  const lose = (pos: number) => lost.set(pos, (lost.get(pos) ?? 0) + 1)
  for (const d of deadLetters) if (d.reason !== 'parse') lose(d.pos)
  for (const l of late) lose(l.pos)
  let records = 0
  let kept = 0
  let dropped = 0
  lines.forEach((l, i) => {
    const e = lineModel(l, i + 1)
    if (e.kind !== 'record' || (opts.topic !== undefined && e.topic !== opts.topic)) return
    records++
    const sides = lost.get(e.offset) ?? 0
    if (sides > 0) {
      lost.set(e.offset, sides - 1)
      return
    }
    if (opts.admits === undefined || opts.admits(e.event as E)) kept++
    else dropped++
  })
  const results = opts.finalize === undefined ? out : opts.finalize(out)
  let joined = 0
  for (const r of results) joined += opts.inputsOf(r)
  const per = opts.resultsPerInput ?? 1
  if (joined !== kept * per)
    throw new LawViolation(
      `${records} input records: ${deadLetters.length} dead letter(s), ${late.length} late, ${dropped} dropped by design, so ${kept} joined results` +
        `${per === 1 ? '' : ` (${per} results each: ${kept * per})`}, but the ${results.length} result(s) stand for ${joined} input(s)`,
    )
}

/** Options of `restoreMatchesUninterrupted`. */
export interface RestoreOptions {
  /** Where the first run stops after a checkpoint: these numbers of records (default: every cut from 1 to the end). */
  readonly cuts?: readonly number[]
}

/** A checkpoint store in memory, through JSON as a file or Redis would store it. */
const memoryStore = (): CheckpointStore & { readonly last: () => Checkpoint | undefined } => {
  let saved: string | undefined
  const last = () => (saved === undefined ? undefined : (JSON.parse(saved) as Checkpoint))
  return { last, load: async () => last(), save: async (c) => void (saved = JSON.stringify(c)) }
}

/**
 * Checkpoints restore exactly: for each cut `c`, a run checkpointed after `c` records that stops
 * there, then a run restored from that checkpoint that finishes the log, give together (the first
 * run's results up to the checkpoint's `outputs`, then the second's) the results and late events of
 * one uninterrupted run. Runs `run` over the log's events (malformed lines left out) on a virtual
 * clock. A stage whose state misses something the rest of the run needs breaks it.
 *
 * @example
 * await restoreMatchesUninterrupted(clicksPerMinute, log.lines, { cuts: [log.records.length >> 1] })
 */
export async function restoreMatchesUninterrupted(p: AnyPipeline, lines: readonly string[], opts: RestoreOptions = {}): Promise<void> {
  const events = lines.flatMap((l, i) => {
    const e = lineModel(l, i + 1)
    return e.kind === 'record' ? [e.event] : []
  })
  const clock = () => ({ scheduler: new VirtualClock(0) })
  const full = await run(p, events, clock())
  const whole = canonical({ out: full.out, late: full.late.map((l) => l.pos) })
  const cuts = opts.cuts ?? events.map((_, i) => i).slice(1)
  for (const cut of cuts) {
    if (!(Number.isInteger(cut) && cut >= 1 && cut < events.length)) continue
    const store = memoryStore()
    // Checkpoints every `cut` records: the first is taken as record cut + 1 is read, the last one read.
    const crashed = await run(p, events.slice(0, cut + 1), { ...clock(), checkpoint: { store, everyEvents: cut } })
    const cp = store.last()
    if (cp === undefined || cp.offset !== cut) throw new LawViolation(`no checkpoint at record ${cut} (got ${cp === undefined ? 'none' : `one at ${cp.offset}`})`)
    const resumed = await run(p, events, { ...clock(), checkpoint: { store, everyEvents: events.length + 1 } })
    const joined = canonical({
      out: [...crashed.out.slice(0, cp.outputs), ...resumed.out],
      late: [...crashed.late.filter((l) => l.pos < cut).map((l) => l.pos), ...resumed.late.map((l) => l.pos)],
    })
    if (joined !== whole) throw new LawViolation(`restored at record ${cut} of ${events.length}, the run differs from the uninterrupted one: ${firstDifference(whole, joined)}`)
  }
}
