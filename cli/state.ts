import { isDeadLetter, readLog, type LogRecord } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import type { StageContents, StateAt } from '../harness/inspect.ts'
import { isoTime } from '../dsl/time.ts'
import { UsageError, type StateCommand, type StatePoint } from './args.ts'
import { loadPipeline } from './load.ts'
import { printable } from './output.ts'
import { existingLog } from './report.ts'
import type { CliIO } from './weir.ts'

/** Entries listed per stage in the text form; the others are counted (`--json` gives them all). */
const LISTED = 20
/** The longest value quoted in a line. */
const QUOTED = 120

/**
 * `weir state`: every stateful stage's state after one record of the log (see `replay`'s
 * `inspect`), as text or (`--json`) as JSON on stdout. An `--at` the log does not reach is a usage
 * mistake (exit 2), said in one line.
 */
export async function stateCommand(cmd: StateCommand, io: CliIO): Promise<number> {
  const p = await loadPipeline(cmd.module, io.cwd)
  const log = existingLog(cmd.log, io.cwd)
  const record = await recordAt(log, cmd.at, cmd.topic)
  const { states } = await replay(p, log, { inspect: [record.offset], topic: cmd.topic })
  const state = states![0]
  // A pipeline whose output finished early takes no more input: there is no state there to show.
  if (state === undefined) throw new Error(`state: the run ended before offset ${record.offset}`)
  if (cmd.json) io.stdout.write(JSON.stringify({ pipeline: p.name, arrival: record.arrival, ...state }, jsonSafe) + '\n')
  else io.stdout.write(stateText(p.name, record, state) + '\n')
  return 0
}

/** The record `--at` names: the one at that offset, or the first arriving at or after that time. */
async function recordAt(log: string, at: StatePoint, topic: string | undefined): Promise<LogRecord> {
  let last: LogRecord | undefined
  for await (const batch of readLog(log))
    for (const e of batch) {
      if (isDeadLetter(e) || (topic !== undefined && e.topic !== topic)) continue
      if ('offset' in at ? e.offset === at.offset : e.arrival >= at.arrival) return e
      last = e
    }
  const within = topic === undefined ? 'the log' : `topic '${topic}' of the log`
  const extent = last === undefined ? `${within} has no records` : `${within} ends at offset ${last.offset}, arrival ${isoTime(last.arrival)}`
  throw new UsageError(
    'offset' in at ? `--at ${at.offset}: no record at that offset (${extent})` : `--at ${at.text}: no record arrives at or after it (${extent})`,
  )
}

const jsonSafe = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v)

const quote = (v: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(v, jsonSafe) ?? String(v)
  } catch {
    text = String(v)
  }
  return text.length > QUOTED ? `${text.slice(0, QUOTED - 1)}…` : text
}

const time = (t: number | null | undefined): string => (t === null || t === undefined ? 'none yet' : isoTime(t))
const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`

/** The first LISTED lines of `items`, indented, and how many more there are. */
function listed<T>(items: readonly T[], line: (x: T) => string): string[] {
  const out = items.slice(0, LISTED).map((x) => `    ${line(x)}`)
  if (items.length > LISTED) out.push(`    ... and ${(items.length - LISTED).toLocaleString('en-US')} more`)
  return out
}

function contentLines(c: StageContents): { summary: string; lines: string[] } {
  switch (c.kind) {
    case 'window':
      return {
        summary: `${plural(c.windows.length, 'open window')}, watermark ${time(c.watermark)}`,
        lines: listed(c.windows, (w) => `key ${quote(w.key)} [${isoTime(w.start)}, ${isoTime(w.end)})${w.fired ? ' fired' : ''}: ${quote(w.partial)}`),
      }
    case 'pattern':
      return {
        summary: `${plural(c.pending.length, 'pending match', 'pending matches')}, ${plural(c.buffered.length, 'event')} waiting for the watermark ${time(c.watermark)}`,
        lines: [
          ...listed(
            c.pending,
            (m) =>
              `key ${quote(m.key)} at step '${m.step}', started ${isoTime(m.start)}, ${m.deadline === undefined ? 'no deadline' : `deadline ${isoTime(m.deadline)}`}: ` +
              m.events.map((e) => `${e.step} = offset ${e.offset}`).join(', '),
          ),
          ...listed(c.buffered, (e) => `waiting: key ${quote(e.key)} offset ${e.offset} at ${isoTime(e.time)}: ${quote(e.value)}`),
        ],
      }
    case 'table':
    case 'tableJoin':
      return { summary: plural(c.size, 'row'), lines: listed(c.rows, ([k, v]) => `${quote(k)}: ${quote(v)}`) }
    case 'tableTableJoin':
      return {
        summary: `${plural(c.left.length, 'left row')}, ${plural(c.right.length, 'right row')}`,
        lines: [...listed(c.left, ([k, v]) => `left ${quote(k)}: ${quote(v)}`), ...listed(c.right, ([k, v]) => `right ${quote(k)}: ${quote(v)}`)],
      }
    case 'windowJoin': {
      const held = (es: readonly { offset: number; matched: boolean }[]) => es.map((e) => `${e.offset}${e.matched ? ' (matched)' : ''}`).join(', ') || 'none'
      return {
        summary: `${plural(c.buffers.length, 'key')} buffered, watermark ${time(c.watermark)}`,
        lines: listed(c.buffers, (b) => `key ${quote(b.key)}: left offsets ${held(b.left)}; right offsets ${held(b.right)}`),
      }
    }
    case 'temporalJoin':
      return {
        summary: `${plural(c.versions.reduce((n, k) => n + k.versions.length, 0), 'version')} of ${plural(c.versions.length, 'key')}, ${plural(c.waiting.length, 'event')} waiting for the watermark ${time(c.watermark)}`,
        lines: [
          ...listed(c.versions, (k) => `key ${quote(k.key)}: ` + k.versions.map((v) => `from ${isoTime(v.from)} ${v.deleted ? 'deleted' : quote(v.value)}`).join('; ')),
          ...listed(c.waiting, (e) => `waiting: key ${quote(e.key)} offset ${e.offset} at ${isoTime(e.time)}: ${quote(e.value)}`),
        ],
      }
    case 'source':
      return { summary: `watermark ${time(c.watermark)}, largest event time ${time(c.maxEventTime)}`, lines: [] }
    case 'other':
      return { summary: 'state', lines: [`    ${quote(c.snapshot)}`] }
  }
}

/**
 * The state as people read it: the source's watermark, then each stateful stage by its plan step
 * (as `weir explain` numbers them), with what it holds, at most LISTED entries each.
 */
export function stateText(pipeline: string, record: LogRecord, s: StateAt): string {
  const lines = [
    `pipeline ${pipeline}, after offset ${s.offset} (arrival ${isoTime(record.arrival)})`,
    `  source: watermark ${time(s.source.watermark)}, largest event time ${time(s.source.maxEventTime)}`,
  ]
  if (s.stages.length === 0) lines.push('  no stateful stages')
  for (const st of s.stages) {
    const { summary, lines: more } = contentLines(st.state)
    lines.push(`  ${st.step}. ${st.stage}: ${summary}`, ...more)
  }
  return lines.map(printable).join('\n')
}
