import type { Pipeline } from '../dsl/pipeline.ts'
import type { Change } from '../dsl/change.ts'
import { isDeadLetter, parseLine, type LogEntry } from '../harness/log.ts'
import { replay, type ReplayOptions } from '../harness/replay.ts'

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
 * Replay determinism: replaying the same log through the same pipeline `runs` times gives
 * byte-identical `out`, `late` and `deadLetters` (serialized as JSON). Throws a `LawViolation`
 * naming the first difference.
 *
 * @example
 * await replayIsDeterministic(sessions, log.lines)
 */
export async function replayIsDeterministic(p: AnyPipeline, lines: readonly string[], opts: LawOptions & { runs?: number } = {}): Promise<void> {
  const runs = opts.runs ?? 2
  let first: string | undefined
  for (let i = 0; i < runs; i++) {
    const r = await replay(p, lines, opts)
    const bytes = JSON.stringify({ out: r.out, late: r.late, deadLetters: r.deadLetters })
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
 * Every input line is accounted for: outputs + dead letters + late events = non-blank lines of the
 * log (with `topic`: malformed lines and the records of that topic). Holds for pipelines that turn each accepted event into exactly one output (no `filter`,
 * `flatMap` or aggregation); a bad line, a codec failure, a throwing user function or a late event
 * each account for their line.
 *
 * @example
 * await everyLineIsAccountedFor(enrich, log.lines)
 */
export async function everyLineIsAccountedFor(p: AnyPipeline, lines: readonly string[], opts: LawOptions = {}): Promise<void> {
  // With `topic`, the other topics' records are not the pipeline's input (malformed lines still are).
  const counts = (e: LogEntry | undefined) => e !== undefined && (opts.topic === undefined || isDeadLetter(e) || e.topic === opts.topic)
  const input = lines.reduce((n, l, i) => n + (counts(parseLine(l, i + 1)) ? 1 : 0), 0)
  const { metrics } = await replay(p, lines, { ...opts, keepOutput: false })
  const accounted = metrics.eventsOut + metrics.deadLetters + metrics.late
  if (accounted !== input || metrics.eventsIn !== input)
    throw new LawViolation(
      `${input} input lines, but ${metrics.eventsOut} out + ${metrics.deadLetters} dead letters + ${metrics.late} late = ${accounted} (eventsIn ${metrics.eventsIn})`,
    )
}

/** How a law compares two runs' outputs: by default as a multiset of JSON values (order ignored). */
export type Finalize = (out: readonly unknown[]) => unknown

const asMultiset: Finalize = (out) => out.map((o) => JSON.stringify(o)).sort()

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
  const finalize = opts.finalize ?? asMultiset
  const [a, b] = [await replay(p, lines, opts), await replay(p, reordered, opts)]
  const late = (r: typeof a) => r.late.map((l) => JSON.stringify(l.value)).sort()
  const [fa, fb] = [JSON.stringify(finalize(a.out)), JSON.stringify(finalize(b.out))]
  if (fa !== fb) throw new LawViolation(`another arrival order changed the results: ${firstDifference(fa, fb)}`)
  const [la, lb] = [JSON.stringify(late(a)), JSON.stringify(late(b))]
  if (la !== lb) throw new LawViolation(`another arrival order changed the late events: ${la} vs ${lb}`)
}

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
  const table = JSON.stringify(changelogTable(u.out))
  const expected = JSON.stringify(changelogTable(f.out.map((r) => ({ op: 'upsert', key: keyOf(r), after: r }))))
  if (table !== expected) throw new LawViolation(`the changelog's table differs from the final results: ${firstDifference(expected, table)}`)
}
