import { diff, type ResultDiff } from '../harness/diff.ts'
import type { DiffCommand } from './args.ts'
import { loadPipeline } from './load.ts'
import { printable } from './output.ts'
import { existingLog } from './report.ts'
import type { CliIO } from './weir.ts'

/** Differences listed one per line; the others are counted. */
const LISTED = 50
/** The longest value quoted in a line. */
const QUOTED = 160

/**
 * `weir diff`: the results that differ between two versions of a pipeline over one log (see
 * `diff`), one line each on stdout, and a summary. Exit code 0 when identical, 1 when they differ,
 * so that it can gate a change in CI.
 */
export async function diffCommand(cmd: DiffCommand, io: CliIO): Promise<number> {
  const [a, b] = await Promise.all(cmd.modules.map((m) => loadPipeline(m, io.cwd)))
  const log = existingLog(cmd.log, io.cwd)
  const d = await diff(a, b, log, { topic: cmd.topic })
  for (const x of d.differences.slice(0, LISTED)) io.stdout.write(line(x) + '\n')
  if (d.differences.length > LISTED) io.stdout.write(`... and ${(d.differences.length - LISTED).toLocaleString('en-US')} more\n`)
  const { before, after } = d.metrics
  const sides = (m: typeof before) => `${m.late.toLocaleString('en-US')} late, ${m.deadLetters.toLocaleString('en-US')} dead letters`
  io.stderr.write(
    `weir: diff ${cmd.modules[0]} -> ${cmd.modules[1]}: ${d.identical ? 'identical results' : `${d.added} added, ${d.removed} removed, ${d.changed} changed`}, ` +
      `${d.same.toLocaleString('en-US')} the same` +
      (before.late !== after.late || before.deadLetters !== after.deadLetters ? ` (side outputs: ${sides(before)} -> ${sides(after)})` : '') +
      '\n',
  )
  return d.identical ? 0 : 1
}

const line = (x: ResultDiff): string => {
  const what = x.kind === 'added' ? `+ ${quote(x.after)}` : x.kind === 'removed' ? `- ${quote(x.before)}` : `${quote(x.before)} -> ${quote(x.after)}`
  return printable(`${x.kind.padEnd(7)} ${x.identity} (from offset ${x.at}): ${what}`)
}

const quote = (v: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(v) ?? String(v)
  } catch {
    text = String(v)
  }
  return text.length > QUOTED ? `${text.slice(0, QUOTED - 1)}…` : text
}
