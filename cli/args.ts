import { REDIS_FLAGS, redisRunOf, type RedisRun } from './redis.ts'
import { didYouMean } from './suggest.ts'
import { deadLetterLimitOf, type DeadLetterLimit } from './deadLetterLimit.ts'
import type { EncodingName } from '../connectors/encodings/encoding.ts'
import { encodingFlags } from './encoding.ts'
import { POSTGRES_FLAGS, postgresFlagsOf, type PostgresFlags } from './pgSource.ts'

// Its own module, so that the flag sets args.ts reads (pgSource.ts) can throw it without an import cycle.
import { UsageError } from './usageError.ts'
export { UsageError }

/** `weir run <pipeline-module> --log <file> [--out <file>] [--fail-fast] [--topic <t>]` */
export interface RunCommand {
  readonly command: 'run'
  readonly module: string
  /** The log to replay; undefined when reading Redis (`redis`). */
  readonly log: string | undefined
  /** `--redis ...`: run live as a member of a Redis Streams consumer group instead of replaying a log. */
  readonly redis?: RedisRun
  /** `--postgres ...`: where a source `--from` maps to a table (`<source>=pg:<table>`) reads its changes. */
  readonly postgres?: PostgresFlags
  readonly out: string | undefined
  readonly failFast: boolean
  readonly topic: string | undefined
  /** `--format csv`: outputs as CSV with a header row; `table`: an aligned table of the first outputs; NDJSON otherwise. */
  readonly format?: OutputFormat
  /** `--max-dead-letters <n|p%>`: exit 1 when the run had more dead letters than this. */
  readonly maxDeadLetters?: DeadLetterLimit
  /** `--dead-letters`: every dead letter as an NDJSON line to this file (with `--redis`: this Redis stream). */
  readonly deadLetters: string | undefined
  /** `--late`: every late event as an NDJSON line to this file (with `--redis`: this Redis stream). */
  readonly late: string | undefined
  /** `--max-line-bytes`: a longer log line is a 'too-long' dead letter (default: readLog's 16 MiB). */
  readonly maxLineBytes?: number
  /** `--follow`: keep reading the log file as it grows, until SIGINT or SIGTERM. */
  readonly follow?: boolean
  /** `--watch`: run again whenever the module or a file it imports changes. */
  readonly watch?: boolean
}

/** How `weir run` writes its outputs. */
export type OutputFormat = 'ndjson' | 'csv' | 'table'

/** `weir explain <pipeline-module> [--mermaid]` */
export interface ExplainCommand {
  readonly command: 'explain'
  readonly module: string
  readonly mermaid: boolean
}

/** `weir report <pipeline-module> --log <file> --out <file.html> [--topic <t>]` */
export interface ReportCommand {
  readonly command: 'report'
  readonly module: string
  readonly log: string
  readonly out: string
  readonly topic: string | undefined
}

/** `weir diff <a-module> <b-module> --log <file> [--topic <t>]` */
export interface DiffCommand {
  readonly command: 'diff'
  readonly modules: readonly [string, string]
  readonly log: string
  readonly topic: string | undefined
}

/** Where `weir state` looks: after the record at a log offset, or after the first record arriving at or after a time. */
export type StatePoint = { readonly offset: number } | { readonly arrival: number; readonly text: string }

/** `weir state <pipeline-module> --log <file> --at <offset|ISO time> [--json] [--topic <t>]` */
export interface StateCommand {
  readonly command: 'state'
  readonly module: string
  readonly log: string
  readonly at: StatePoint
  readonly json: boolean
  readonly topic: string | undefined
}

/** `weir convert --log <file|-> --out <file> --encoding <json|avro|msgpack> [--schema <file.avsc>]` */
export interface ConvertCommand {
  readonly command: 'convert'
  readonly log: string
  readonly out: string
  readonly encoding: EncodingName
  /** The Avro schema file (`--schema`), needed with `--encoding avro`. */
  readonly schema?: string
}

/** The commands that take arguments. */
export type CommandName = 'run' | 'explain' | 'report' | 'diff' | 'state' | 'convert'

/** `weir --help`, or `weir <command> --help` (`about`) for one command's usage. */
export interface HelpCommand {
  readonly command: 'help'
  readonly about?: CommandName
}

/** `weir --version` */
export interface VersionCommand {
  readonly command: 'version'
}

export type Command = RunCommand | ExplainCommand | ReportCommand | DiffCommand | StateCommand | ConvertCommand | HelpCommand | VersionCommand

export const USAGE = `usage:
  weir run <pipeline-module> --log <file|-> [--out <file>] [--format ndjson|csv|table] [--fail-fast] [--topic <topic>]
           [--max-dead-letters <n|p%>] [--dead-letters <file>] [--late <file>] [--max-line-bytes <n>] [--follow | --watch]
      replay a recorded NDJSON log (- for standard input) through the module's default-exported
      pipeline in virtual time; outputs go to --out or stdout (NDJSON, CSV with a header row, or
      an aligned table of the first 50 outputs), a summary to stderr with the first dead letters
      and late events; --dead-letters / --late
      write every one (NDJSON, with reason and position); a line longer than --max-line-bytes
      (default 16 MiB) is a dead letter; with --follow, keep reading the file as it grows
      (complete lines only, outputs written at once) until SIGINT or SIGTERM; exits 1 when every
      record was a dead letter, or when there were more dead letters than --max-dead-letters (a
      count, or a percentage of the records read); --watch runs again whenever the module or a
      file it imports changes
  weir run <pipeline-module> --redis <url> --from <topics|glob> --group <g> --consumer <name>
           [--to <topic> [--partitions <n>] | --upsert <hash>] [--key <field>] [--idle-exit <ms>] [--members <n>] [--lease <ms>]
           [--checkpoint <file> [--checkpoint-every <records>]] [--dead-letters <stream>] [--late <stream>]
           [--max-deliveries <n>] [--dead-letter-stream <stream>] [--encoding json|avro|msgpack [--schema <file.avsc>]]
      run live as one member of a Redis Streams consumer group (start several to scale out);
      outputs go to a topic, an upsert hash keyed by --key, or stdout; a stateful pipeline runs one
      instance per partition it owns, checkpointed in Redis, and partitions move with their state as
      members join, leave or die (a dead member's after its --lease, default 1500 ms; docs/scale-out.md);
      a stateless one acknowledges after its sink writes, and with --checkpoint, operator
      state is saved atomically every N records and a restarted member resumes from it (exit code 3,
      nothing run, when the file belongs to another pipeline, plan, topic or group); --dead-letters
      and --late append every dead letter / late event to these Redis streams (field e, NDJSON); an
      entry delivered more than --max-deliveries times (default 5: it keeps killing its reader) is
      moved to --dead-letter-stream (default <topic>:dead-letters) and acknowledged; --encoding
      reads entries whose events are Avro (with --schema) or MessagePack bytes instead of JSON
      (outputs stay JSON), an entry that does not decode being a dead letter; a pipeline with
      several sources maps each to its topic (--from clicks=<topic>,searches=<topic>; a stateful
      pipeline's member owns partition p of every topic together), and --log routes each record by its topic (docs/sources.md)
  weir run <pipeline-module> --redis <url> --from <source>=<topic>,<source>=pg:<table> --postgres <url> --slot <name>
           [--publication <name>] [the other --redis options]
      read one source of a pipeline with several from a PostgreSQL table's changes (pgChanges,
      docs/cdc.md) and the others from Redis topics; the slot (and the publication of that table
      alone, named after the slot by default) is created if missing, and then gets the changes made
      from its creation on; a stateful pipeline runs alone with --checkpoint <file> (docs/sources.md)
  weir explain <pipeline-module> [--mermaid]
      print the pipeline's plan, as text or as a Mermaid flowchart
  weir report <pipeline-module> --log <file> --out <file.html> [--topic <topic>]
      replay the log and write one self-contained HTML page (it works offline): the plan as a
      diagram, the outputs as a table and charts over event time per key, the watermark and its
      lag, late events and dead letters by reason with samples, and throughput (needs the vega
      and vega-lite packages)
  weir diff <a-module> <b-module> --log <file> [--topic <topic>]
      replay the log through two versions of a pipeline and list the results that differ, matched
      by identity (key and window, key of a table, a match's events): added, removed and changed,
      each with the log offset where it first diverged; exits 0 when identical, 1 when not
  weir state <pipeline-module> --log <file> --at <offset|ISO time> [--json] [--topic <topic>]
      replay the log up to a point and print every stateful stage's state there: open windows
      with their bounds and partial aggregates, pending pattern matches with their steps and
      deadlines, table rows, join buffers per key, and the watermarks; --at is a log offset (the
      state after that record) or an ISO time (the state after the first record whose arrival
      is at or after it); --json prints it as JSON; exit 2 for an --at the log does not reach
  weir convert --log <file|-> --out <file> --encoding json|avro|msgpack [--schema <file.avsc>]
      rewrite a recorded log in another encoding, record for record (offsets, arrivals, topics
      kept): json writes NDJSON, avro and msgpack the binary log format (docs/encodings.md; they
      need the avsc / msgpackr packages), avro with the schema read from --schema; every reader
      of logs (weir run, replay, fromLog) tells the formats apart by their first bytes; records
      the input cannot give (corrupt frames, malformed lines) are counted and left out
  weir --version
  weir [<command>] --help`

type FlagKind = 'string' | 'boolean'

const FLAGS: Record<CommandName, Record<string, FlagKind>> = {
  run: { log: 'string', out: 'string', 'fail-fast': 'boolean', topic: 'string', format: 'string', watch: 'boolean', 'max-dead-letters': 'string', 'dead-letters': 'string', late: 'string', 'max-line-bytes': 'string', follow: 'boolean', ...REDIS_FLAGS, ...POSTGRES_FLAGS },
  explain: { mermaid: 'boolean' },
  report: { log: 'string', out: 'string', topic: 'string' },
  diff: { log: 'string', topic: 'string' },
  state: { log: 'string', at: 'string', json: 'boolean', topic: 'string' },
  convert: { log: 'string', out: 'string', encoding: 'string', schema: 'string' },
}

const COMMANDS = Object.keys(FLAGS) as CommandName[]
const isCommand = (c: string): c is CommandName => (COMMANDS as string[]).includes(c)

/** A positive whole number of bytes, given plainly or with a binary unit: `4096`, `64KiB`, `16MiB`. */
const byteCount = (name: string, v: string): number => {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(v)
  const n = m === null ? Number.NaN : Number(m[1]) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2] ?? 'B']!
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new UsageError(`--${name} must be a positive number of bytes (e.g. 1048576 or 16MiB), got '${v}'`)
  return n
}

/**
 * Parses `weir`'s arguments (without `node` and the script). Throws a `UsageError` with a one-line
 * message for an unknown command or flag, a missing value or a missing argument.
 *
 * @example
 * parseArgs(['run', 'job.ts', '--log', 'in.ndjson']) // { command: 'run', module: 'job.ts', log: 'in.ndjson', ... }
 */
export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv
  if (command === undefined) throw new UsageError('missing command (try: weir run <pipeline-module> --log <file>, or weir --help)')
  if (command === '--help' || command === '-h' || command === 'help') return { command: 'help' }
  if (command === '--version' || command === '-v' || command === 'version') return { command: 'version' }
  if (!isCommand(command)) throw new UsageError(`unknown command '${command}' (commands: ${COMMANDS.join(', ')})`)
  const known = FLAGS[command]
  const flags = new Map<string, string | true>()
  const positional: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    if (arg === '--help' || arg === '-h') return { command: 'help', about: command }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const kind = arg.startsWith('--') ? known[name] : undefined
    if (kind === undefined) throw unknownOption(command, eq === -1 ? arg : arg.slice(0, eq), Object.keys(known))
    if (flags.has(name)) throw new UsageError(`option '--${name}' given twice`)
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`option '--${name}' takes no value`)
      flags.set(name, true)
    } else {
      const value = eq !== -1 ? arg.slice(eq + 1) : rest[++i]
      if (value === undefined || value === '' || (eq === -1 && value.startsWith('--')))
        throw new UsageError(`option '--${name}' needs a value`)
      flags.set(name, value)
    }
  }
  if (command === 'diff') return diffOf(positional, flags)
  if (command === 'convert') return convertOf(positional, flags)
  if (positional.length === 0) throw new UsageError(`${command} needs a <pipeline-module> (a .ts or .js file whose default export is a pipeline)`)
  if (positional.length > 1) throw new UsageError(`${command} takes one <pipeline-module>, got ${positional.length}: ${positional.join(' ')}`)
  const module = positional[0]
  if (command === 'explain') return { command, module, mermaid: flags.has('mermaid') }
  const log = flags.get('log')
  if (command === 'state') {
    if (log === undefined) throw new UsageError('state needs --log <file> (the recorded NDJSON log to replay)')
    const at = flags.get('at')
    if (at === undefined) throw new UsageError('state needs --at <offset|ISO time> (where in the log to look)')
    return { command, module, log: log as string, at: statePointOf(at as string), json: flags.has('json'), topic: flags.get('topic') as string | undefined }
  }
  if (command === 'report') {
    if (log === undefined) throw new UsageError('report needs --log <file> (the recorded NDJSON log to replay)')
    const out = flags.get('out') as string | undefined
    if (out === undefined) throw new UsageError('report needs --out <file.html> (where to write the page)')
    if (!/\.html?$/i.test(out)) throw new UsageError(`report writes an HTML page: --out must end in .html, got '${out}'`)
    return { command, module, log: log as string, out, topic: flags.get('topic') as string | undefined }
  }
  const sideOutputs = { deadLetters: flags.get('dead-letters') as string | undefined, late: flags.get('late') as string | undefined }
  if (sideOutputs.deadLetters !== undefined && sideOutputs.deadLetters === sideOutputs.late)
    throw new UsageError('--dead-letters and --late name the same destination; give each its own')
  const redis = redisRunOf(flags)
  const postgres = postgresFlagsOf(flags, redis !== undefined)
  if (redis !== undefined) {
    if (log !== undefined) throw new UsageError('run takes --log <file> or --redis <url>, not both')
    // Options of --log runs that --redis would silently ignore.
    if (flags.has('out')) throw new UsageError('--out is for --log runs; with --redis, outputs go to --to <topic>, --upsert <hash> or stdout')
    if (flags.has('topic')) throw new UsageError('--topic is for --log runs; with --redis, --from <topics> says what to read')
    for (const f of ['format', 'max-dead-letters'])
      if (flags.has(f)) throw new UsageError(`--${f} is for --log runs; with --redis, outputs are NDJSON and every dead letter is reported as it happens`)
    if (flags.has('max-line-bytes')) throw new UsageError('--max-line-bytes is for --log runs (Redis entries are not lines)')
    if (flags.has('follow')) throw new UsageError('--follow is for --log <file> runs; a --redis member keeps reading until SIGINT or SIGTERM anyway')
    if (flags.has('watch')) throw new UsageError('--watch is for --log runs (a --redis member runs until stopped)')
    return { command, module, log: undefined, redis, ...(postgres === undefined ? {} : { postgres }), out: undefined, failFast: flags.has('fail-fast'), topic: undefined, ...sideOutputs }
  }
  if (log === undefined) throw new UsageError('run needs --log <file> (the recorded NDJSON log to replay)')
  if (log === '-' && flags.has('follow')) throw new UsageError('--follow needs --log <file>; standard input is read until it closes anyway')
  if (flags.has('watch') && log === '-') throw new UsageError('--watch needs a --log file to replay again (standard input can be read once)')
  if (flags.has('watch') && flags.has('follow')) throw new UsageError('--watch and --follow do not go together: --follow never ends a run for --watch to start again')
  return {
    command,
    module,
    log: log as string,
    out: flags.get('out') as string | undefined,
    failFast: flags.has('fail-fast'),
    topic: flags.get('topic') as string | undefined,
    format: formatOf(flags.get('format') as string | undefined),
    maxDeadLetters: deadLetterLimitOf(flags.get('max-dead-letters') as string | undefined),
    ...sideOutputs,
    ...(flags.has('follow') ? { follow: true } : {}),
    ...(flags.has('max-line-bytes') ? { maxLineBytes: byteCount('max-line-bytes', flags.get('max-line-bytes') as string) } : {}),
    ...(flags.has('watch') ? { watch: true } : {}),
  }
}

const FORMATS: readonly OutputFormat[] = ['ndjson', 'csv', 'table']

const formatOf = (v: string | undefined): OutputFormat | undefined => {
  if (v === undefined || (FORMATS as readonly string[]).includes(v)) return v as OutputFormat | undefined
  throw new UsageError(`--format must be ${FORMATS.slice(0, -1).join(', ')} or ${FORMATS.at(-1)}, got '${v}'`)
}

const diffOf = (positional: readonly string[], flags: ReadonlyMap<string, string | true>): DiffCommand => {
  if (positional.length !== 2)
    throw new UsageError(`diff takes two pipeline modules, the old and the new version, got ${positional.length}${positional.length > 0 ? `: ${positional.join(' ')}` : ''}`)
  const log = flags.get('log')
  if (log === undefined) throw new UsageError('diff needs --log <file> (the recorded NDJSON log to replay through both)')
  return { command: 'diff', modules: [positional[0], positional[1]], log: log as string, topic: flags.get('topic') as string | undefined }
}

const convertOf = (positional: readonly string[], flags: ReadonlyMap<string, string | true>): ConvertCommand => {
  if (positional.length > 0) throw new UsageError(`convert takes no module, got ${positional.join(' ')} (weir convert --log <file> --out <file> --encoding <encoding>)`)
  const log = flags.get('log') as string | undefined
  if (log === undefined) throw new UsageError('convert needs --log <file> (the recorded log to convert; - for standard input)')
  const out = flags.get('out') as string | undefined
  if (out === undefined) throw new UsageError('convert needs --out <file> (where to write the converted log)')
  if (!flags.has('encoding')) throw new UsageError('convert needs --encoding json|avro|msgpack (the encoding to write)')
  const encoding = encodingFlags(flags.get('encoding') as string | undefined, flags.get('schema') as string | undefined, true)!
  return { command: 'convert', log, out, ...encoding }
}

/**
 * `--at`: a whole number is a log offset; anything else must be an ISO 8601 date, or date and time
 * (UTC unless it gives a zone). Free text is refused rather than guessed at.
 */
const statePointOf = (v: string): StatePoint => {
  if (/^\d+$/.test(v)) {
    const offset = Number(v)
    if (Number.isSafeInteger(offset)) return { offset }
  }
  const iso = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v)
  // A time without a zone is UTC, like a date alone (Date.parse would read it as local time).
  const arrival = iso === null ? Number.NaN : Date.parse(iso[1] !== undefined && iso[2] === undefined ? `${v}Z` : v)
  if (Number.isNaN(arrival)) throw new UsageError(`--at must be a log offset (a whole number from 0) or an ISO time such as 2024-05-01T10:00:00Z, got '${v}'`)
  return { arrival, text: v }
}

/** An unknown flag: the closest known one when there is one, else the list. */
const unknownOption = (command: string, given: string, known: readonly string[]): UsageError => {
  const guess = given.startsWith('--') ? didYouMean(given.slice(2), known) : undefined
  return new UsageError(
    guess !== undefined
      ? `unknown option '${given}' for ${command}: did you mean --${guess}? (weir ${command} --help lists them)`
      : `unknown option '${given}' for ${command} (options: ${known.map((k) => `--${k}`).join(', ')})`,
  )
}

/**
 * The usage of one command: its lines of USAGE.
 *
 * @example
 * usageOf('explain') // 'usage:\n  weir explain <pipeline-module> [--mermaid]\n      print the pipeline's plan, ...'
 */
export function usageOf(command: CommandName): string {
  const sections = USAGE.split('\n  weir ').slice(1)
  return ['usage:', ...sections.filter((s) => s.startsWith(`${command} `)).map((s) => `  weir ${s}`)].join('\n')
}
