import type { Pipeline } from '../dsl/pipeline.ts'
import type { Change } from '../dsl/change.ts'
import { lineModel } from './logModel.ts'
import { replay, type ReplayOptions } from '../harness/replay.ts'
import type { RunResult } from '../harness/result.ts'

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
 * though the totals agree.
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
      `${input} input lines, but ${metrics.eventsOut} out + ${metrics.deadLetters} dead letters + ${metrics.late} late = ${accounted} (eventsIn ${metrics.eventsIn})`,
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
