import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { explain } from '../dsl/explain.ts'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'
import { sideOutputLine } from '../harness/sideOutputLine.ts'
import { FailFastError } from '../operators/core/context.ts'
import { CheckpointMismatchError } from '../harness/checkpoint.ts'
import { replay } from '../harness/replay.ts'
import type { RunMetrics } from '../harness/result.ts'
import { parseArgs, UsageError, USAGE, usageOf, type ExplainCommand, type RunCommand } from './args.ts'
import { deadLetterFailure } from './deadLetterLimit.ts'
import { csvWriter } from './csv.ts'
import { version } from './version.ts'
import { ProgressBar } from './progress.ts'
import { redisRunCommand } from './redis.ts'
import { blockWriter, fileWriter, printable, type LineWriter } from './output.ts'
import { isoTime } from '../dsl/time.ts'
import { loadPipeline, sameFile } from './load.ts'
import { reportCommand } from './report.ts'
import { diffCommand } from './diff.ts'
import { stateCommand } from './state.ts'
import { convertCommand } from './convert.ts'
import { loadEncoding } from './encoding.ts'
import { MissingPeerError } from '../connectors/encodings/peer.ts'
import { isFramedLogFile } from '../harness/framedLog.ts'
import { watchRun } from './watch.ts'
import { formatTable } from '../notebook/table.ts'

/** Where the CLI reads and writes: the process by default, captured streams in tests. */
export interface CliIO {
  /** `columns`, on a terminal, is the width `--format table` fits. */
  readonly stdout: { write(s: string): unknown; readonly columns?: number }
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean; readonly columns?: number }
  readonly cwd: string
  /** Where `--log -` reads from (default: the process's standard input). */
  readonly stdin?: NodeJS.ReadableStream
  /** `WEIR_DEBUG=1` adds stack traces to runtime errors. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Ends a `--follow` run as SIGINT or SIGTERM do (default: those signals only). */
  readonly stop?: AbortSignal
}

export { loadPipeline } from './load.ts'

const processIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env })

/** How many dead letters and late events are shown before the summary. */
const SHOWN = 3
/** How many outputs `--format table` shows (the others are counted). */
const TABLE_ROWS = 50

/**
 * The `weir` command. Returns the exit code: 0 on success, 2 for a usage mistake (unknown command
 * or flag, missing file, a module without a pipeline as its default export), 3 for a `--checkpoint`
 * that belongs to another pipeline, plan or input (nothing is run), 1 when the run itself fails
 * (`--fail-fast`, an error in the pipeline) or `weir diff` finds results that differ. Every error is
 * one line on stderr.
 *
 * @example
 * process.exitCode = await main(['run', 'examples/flightAirports.ts', '--log', 'examples/data/flights.ndjson'])
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    const cmd = parseArgs(argv)
    if (cmd.command === 'help') {
      io.stdout.write((cmd.about === undefined ? USAGE : usageOf(cmd.about)) + '\n')
      return 0
    }
    if (cmd.command === 'version') {
      io.stdout.write(version() + '\n')
      return 0
    }
    if (cmd.command === 'explain') return await explainCommand(cmd, io)
    if (cmd.command === 'report') return await reportCommand(cmd, io)
    if (cmd.command === 'diff') return await diffCommand(cmd, io)
    if (cmd.command === 'state') return await stateCommand(cmd, io)
    if (cmd.command === 'convert') return await convertCommand(cmd, io)
    if (cmd.watch === true) {
      await loadPipeline(cmd.module, io.cwd)
      return await watchRun(argv, cmd.module, io)
    }
    return await runCommand(cmd, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`weir: ${e.message}\n`)
      return 2
    }
    if (e instanceof CheckpointMismatchError) {
      io.stderr.write(`weir: --checkpoint: ${e.reason}\n`)
      return 3
    }
    if (e instanceof MissingPeerError) {
      io.stderr.write(`weir: ${e.message}\n`)
      return 2
    }
    if (e instanceof FailFastError) {
      io.stderr.write(`weir: failed fast: ${printable(e.message)}\n`)
      return 1
    }
    io.stderr.write(`weir: ${printable(errorMessage(e))}\n`)
    if (io.env.WEIR_DEBUG && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n')
    return 1
  }
}

async function explainCommand(cmd: ExplainCommand, io: CliIO): Promise<number> {
  const p = await loadPipeline(cmd.module, io.cwd)
  io.stdout.write(explain(p, { format: cmd.mermaid ? 'mermaid' : 'text' }) + '\n')
  return 0
}

async function runCommand(cmd: RunCommand, io: CliIO): Promise<number> {
  const p = await loadPipeline(cmd.module, io.cwd)
  if (cmd.redis !== undefined) {
    const encoding = cmd.redis.encoding === undefined ? undefined : loadEncoding(cmd.redis.encoding, io.cwd)
    return redisRunCommand(p, cmd.redis, io, { failFast: cmd.failFast, deadLetters: cmd.deadLetters, late: cmd.late, encoding, postgres: cmd.postgres })
  }
  // `--log -` reads the log from standard input, so weir sits in a shell pipe (`zcat log.gz | weir run ...`).
  const fromStdin = cmd.log === '-'
  const logPath = fromStdin ? '' : resolve(io.cwd, cmd.log!)
  if (!fromStdin && (!existsSync(logPath) || !statSync(logPath).isFile())) throw new UsageError(`no such log file: ${cmd.log}`)
  // Following a live log, each output is written as it comes, not when a block is full.
  const block = cmd.follow ? 0 : undefined
  let lines: LineWriter
  if (cmd.out === undefined) lines = blockWriter((s) => io.stdout.write(s), undefined, block)
  else {
    const outPath = resolve(io.cwd, cmd.out)
    // Opening --out truncates it: the log itself would be emptied before it is read.
    if (!fromStdin && sameFile(outPath, logPath)) throw new UsageError(`--out ${cmd.out} is the --log file; write the outputs elsewhere`)
    try {
      lines = fileWriter(outPath, `--out ${cmd.out}`, block)
    } catch (e) {
      throw new UsageError(`cannot write --out ${cmd.out}: ${errorMessage(e)}`)
    }
  }
  // NDJSON lines are written as they come (an output JSON cannot hold is its record's dead letter); CSV goes through its writer.
  const csv = cmd.format === 'csv' ? csvWriter(lines) : undefined
  // A table is laid out from its rows' widths, so it is written at the end, from the first rows.
  const tableRows: unknown[] | undefined = cmd.format === 'table' ? [] : undefined
  const bar = io.stderr.isTTY && !fromStdin && !cmd.follow ? new ProgressBar(io.stderr, statSync(logPath).size) : undefined
  // Records rejected at the source (not JSON, failing the codec): one dead letter per record at most.
  let rejected = 0
  // Every dead letter and late event goes to its file as it comes; memory keeps the first few.
  const sides: LineWriter[] = []
  const sideFile = (path: string | undefined, flag: string): LineWriter | undefined => {
    if (path === undefined) return undefined
    const full = resolve(io.cwd, path)
    if (!fromStdin && sameFile(full, logPath)) throw new UsageError(`${flag} ${path} is the --log file; write them elsewhere`)
    if (cmd.out !== undefined && sameFile(full, resolve(io.cwd, cmd.out))) throw new UsageError(`${flag} ${path} is the --out file; write them elsewhere`)
    try {
      const w = fileWriter(full, `${flag} ${path}`)
      sides.push(w)
      return w
    } catch (e) {
      throw new UsageError(`cannot write ${flag} ${path}: ${errorMessage(e)}`)
    }
  }
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  if (cmd.follow) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    io.stop?.addEventListener('abort', onSignal, { once: true })
  }
  try {
    const deadFile = sideFile(cmd.deadLetters, '--dead-letters')
    const lateFile = sideFile(cmd.late, '--late')
    const log = fromStdin ? (io.stdin ?? process.stdin) : logPath
    const { metrics, deadLetters: dead, late } = await replay(p, log, {
      failFast: cmd.failFast,
      topic: cmd.topic,
      maxLineBytes: cmd.maxLineBytes,
      follow: cmd.follow ? { signal: stop.signal } : undefined,
      keepOutput: false,
      keepSideOutputs: SHOWN,
      onOutput: (o, pos) => {
        if (csv !== undefined) return csv.write(o)
        if (tableRows !== undefined) {
          if (tableRows.length < TABLE_ROWS) tableRows.push(o)
          return
        }
        const line = asJson(o, pos)
        if (typeof line !== 'string') return line
        lines.line(line)
      },
      onDeadLetter: (d) => {
        if (d.stage === 'source' && (d.reason === 'parse' || d.reason === 'codec' || d.reason === 'too-long')) rejected++
        deadFile?.line(sideOutputLine(d))
      },
      onLate: lateFile && ((l) => lateFile.line(sideOutputLine(l))),
      onProgress: bar && ((pr) => bar.update(pr.bytesRead, pr.eventsIn)),
    })
    bar?.clear()
    if (tableRows !== undefined) {
      const width = cmd.out === undefined ? (io.stdout.columns ?? 120) : 10_000
      lines.line(formatTable(tableRows, { width, maxRows: TABLE_ROWS, total: metrics.eventsOut }))
    }
    // Before the summary: a write that fails only when the last block is flushed fails the run.
    lines.close()
    for (const w of sides) w.close()
    // A binary log's records are framed, not lines: its source dead letters count records.
    const unit = !fromStdin && isFramedLogFile(logPath) ? 'record' : 'line'
    for (const d of dead) io.stderr.write(`weir: dead letter (${d.reason}) in ${d.stage} at ${d.reason === 'parse' || d.reason === 'too-long' ? unit : 'offset'} ${d.pos}: ${printable(d.message)}\n`)
    const more = (k: number, what: string, flag: string, file: string | undefined) =>
      io.stderr.write(`weir: ... and ${n(k)} more ${what}${k === 1 ? '' : 's'} (${file === undefined ? `${flag} <file> writes them all` : `all in ${file}`})\n`)
    if (metrics.deadLetters > dead.length) more(metrics.deadLetters - dead.length, 'dead letter', '--dead-letters', cmd.deadLetters)
    for (const l of late) io.stderr.write(`weir: late event in ${l.stage} at offset ${l.pos}: time ${isoTime(l.time)} < watermark ${isoTime(l.watermark)}\n`)
    if (metrics.late > late.length) more(metrics.late - late.length, 'late event', '--late', cmd.late)
    if (cmd.topic !== undefined && metrics.eventsIn === 0 && metrics.skipped > 0)
      io.stderr.write(`weir: no record of topic '${cmd.topic}' in the log (${n(metrics.skipped)} records of other topics skipped)\n`)
    if (p.sources !== undefined && metrics.skipped > 0)
      io.stderr.write(`weir: ${n(metrics.skipped)} record${metrics.skipped === 1 ? '' : 's'} of a topic no source reads skipped (its sources: ${Object.keys(p.sources).join(', ')})\n`)
    io.stderr.write(summary(p.name, metrics) + '\n')
    const failure = deadLetterFailure({ records: metrics.eventsIn, rejected, deadLetters: metrics.deadLetters }, cmd.maxDeadLetters)
    if (failure === undefined) return 0
    io.stderr.write(`weir: failed: ${failure}\n`)
    return 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    bar?.clear()
    for (const w of [lines, ...sides])
      try {
        w.close()
      } catch {
        // Only reached when the run failed already (a success closes first): its error is the one to report.
      }
  }
}

/**
 * An output as one NDJSON line, or, for a value JSON cannot hold (a BigInt, a cycle, nesting deep
 * enough to overflow the stack), the dead letter of the record it came from (at `pos`).
 */
const asJson = (o: unknown, pos: number): string | DeadLetter => {
  try {
    return JSON.stringify(o) ?? 'null'
  } catch (e) {
    return deadLetter('output', 'output', pos, `the output cannot be written as JSON: ${errorMessage(e)}`, o)
  }
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US')

/**
 * The one-line summary printed at the end of `weir run`.
 *
 * @example
 * summary('flights', metrics) // 'weir: flights: 20,000 events in, 19,998 out, 2 dead letters, 0 late, 412,345 events/s (48 ms)'
 */
export function summary(name: string, m: RunMetrics): string {
  const s = (k: number, one: string, many: string) => `${n(k)} ${k === 1 ? one : many}`
  return (
    `weir: ${name}: ${s(m.eventsIn, 'event', 'events')} in, ${n(m.eventsOut)} out, ` +
    `${s(m.deadLetters, 'dead letter', 'dead letters')}, ${n(m.late)} late, ${n(m.eventsPerSecond)} events/s (${n(m.wallMs)} ms)`
  )
}
