import { describe, expect, it } from 'vitest'
import { parseArgs, usageOf, UsageError } from './args.ts'

const usage = (argv: string[]) => {
  try {
    parseArgs(argv)
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError)
    return (e as Error).message
  }
  throw new Error('expected a UsageError')
}

describe('parseArgs', () => {
  it('parses run with every option (the docs example, plus flags)', () => {
    expect(parseArgs(['run', 'job.ts', '--log', 'in.ndjson'])).toEqual({
      command: 'run',
      module: 'job.ts',
      log: 'in.ndjson',
      out: undefined,
      failFast: false,
      topic: undefined,
    })
    expect(parseArgs(['run', '--fail-fast', '--log=in.ndjson', 'job.ts', '--out', 'o.ndjson', '--topic', 'clicks'])).toEqual({
      command: 'run',
      module: 'job.ts',
      log: 'in.ndjson',
      out: 'o.ndjson',
      failFast: true,
      topic: 'clicks',
    })
  })

  it('parses explain, with and without --mermaid', () => {
    expect(parseArgs(['explain', 'job.ts'])).toEqual({ command: 'explain', module: 'job.ts', mermaid: false })
    expect(parseArgs(['explain', 'job.ts', '--mermaid'])).toEqual({ command: 'explain', module: 'job.ts', mermaid: true })
  })

  it('parses report and diff', () => {
    expect(parseArgs(['report', 'job.ts', '--log', 'in.ndjson', '--out', 'r.html'])).toEqual({ command: 'report', module: 'job.ts', log: 'in.ndjson', out: 'r.html', topic: undefined })
    expect(parseArgs(['diff', 'a.ts', 'b.ts', '--log', 'in.ndjson', '--topic', 't'])).toEqual({ command: 'diff', modules: ['a.ts', 'b.ts'], log: 'in.ndjson', topic: 't' })
    expect(parseArgs(['diff', 'a.ts', '--help'])).toEqual({ command: 'help', about: 'diff' })
  })

  it('parses state: --at a log offset, or an ISO time (UTC unless it gives a zone)', () => {
    const state = (at: string) => (parseArgs(['state', 'a.ts', '--log', 'in.ndjson', '--at', at]) as { at: unknown }).at
    expect(parseArgs(['state', 'a.ts', '--log', 'in.ndjson', '--at', '12', '--json'])).toEqual({ command: 'state', module: 'a.ts', log: 'in.ndjson', at: { offset: 12 }, json: true, topic: undefined })
    expect(state('2024-05-01T10:00:00')).toEqual({ arrival: Date.UTC(2024, 4, 1, 10), text: '2024-05-01T10:00:00' })
    expect(state('2024-05-01T12:00:00+02:00')).toEqual({ arrival: Date.UTC(2024, 4, 1, 10), text: '2024-05-01T12:00:00+02:00' })
    expect(state('2024-05-01')).toEqual({ arrival: Date.UTC(2024, 4, 1), text: '2024-05-01' })
    for (const bad of ['1.5', 'yesterday', '2024-13-01', '2024-05-01 10:00'])
      expect(() => parseArgs(['state', 'a.ts', '--log', 'x', '--at', bad])).toThrow(/--at must be a log offset/)
    expect(() => parseArgs(['state', 'a.ts', '--at', '1'])).toThrow('state needs --log <file> (the recorded NDJSON log to replay)')
    expect(parseArgs(['run', 'job.ts', '--log', 'in.ndjson', '--watch'])).toMatchObject({ command: 'run', watch: true })
  })

  it('asks for help with --help anywhere', () => {
    expect(parseArgs(['--help'])).toEqual({ command: 'help' })
    expect(parseArgs(['run', 'x.ts', '--help'])).toEqual({ command: 'help', about: 'run' })
    expect(parseArgs(['explain', '-h'])).toEqual({ command: 'help', about: 'explain' })
  })

  it.each([
    [[], /missing command/],
    [['go'], /unknown command 'go' \(commands: run, explain, report, diff, state, convert\)/],
    [['run', 'job.ts'], /run needs --log <file>/],
    [['run', '--log', 'in.ndjson'], /run needs a <pipeline-module>/],
    [['run', 'a.ts', 'b.ts', '--log', 'x'], /takes one <pipeline-module>, got 2/],
    [['run', 'job.ts', '--log'], /'--log' needs a value/],
    [['run', 'job.ts', '--log', '--out', 'x'], /'--log' needs a value/],
    [['run', 'job.ts', '--log', 'x', '--bogus'], /unknown option '--bogus' for run \(options: --log, --out, --fail-fast, --topic, --format, --watch, --max-dead-letters, --dead-letters, --late, --max-line-bytes, --follow, --redis, --from, --group, --consumer, --to, --partitions, --upsert, --key, --idle-exit, --members, --lease, --checkpoint, --checkpoint-every, --max-deliveries, --dead-letter-stream, --encoding, --schema, --postgres, --slot, --publication\)/],
    [['run', 'job.ts', '--log', 'x', '-v'], /unknown option '-v'/],
    [['run', 'job.ts', '--log', '-', '--follow'], /--follow needs --log <file>; standard input is read until it closes anyway/],
    [['run', 'job.ts', '--redis', 'redis://h:1', '--from', 'a', '--group', 'g', '--consumer', 'c', '--follow'], /--follow is for --log <file> runs/],
    [['run', 'job.ts', '--log', 'x', '--max-line-bytes', '16XB'], /--max-line-bytes must be a positive number of bytes/],
    [['explain', 'job.ts', '--log', 'x'], /unknown option '--log' for explain/],
    [['run', 'job.ts', '--log', 'x', '--log', 'y'], /'--log' given twice/],
    [['run', 'job.ts', '--log', 'x', '--fail-fast=yes'], /'--fail-fast' takes no value/],
  ])('rejects %j with one clear line', (argv, message) => {
    const m = usage(argv as string[])
    expect(m).toMatch(message)
    expect(m).not.toContain('\n')
  })
})

describe('parseArgs: run --redis', () => {
  it('reads the consumer-group option set instead of --log', () => {
    const cmd = parseArgs(['run', 'job.ts', '--redis', 'redis://h:1', '--from', 'a,b', '--group', 'g', '--consumer', 'w1', '--upsert', 'view', '--key', 'id', '--idle-exit', '500'])
    expect(cmd).toMatchObject({
      command: 'run',
      log: undefined,
      redis: { url: 'redis://h:1', from: 'a,b', group: 'g', consumer: 'w1', upsert: 'view', to: undefined, key: 'id', partitions: 1, idleExitMs: 500, members: 1, checkpoint: undefined, checkpointEvery: 10_000 },
    })
  })

  it.each([
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g'], /run --redis needs --consumer/],
    [['run', 'job.ts', '--group', 'g', '--log', 'x'], /--group needs --redis <url>/],
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g', '--consumer', 'c', '--checkpoint-every', '5'], /--checkpoint-every needs --checkpoint <file>/],
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g', '--consumer', 'c', '--checkpoint', 'cp.json', '--checkpoint-every', 'x'], /--checkpoint-every must be a positive integer/],
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g', '--consumer', 'c', '--log', 'x'], /--log <file> or --redis <url>, not both/],
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g', '--consumer', 'c', '--to', 'out', '--partitions', '0'], /--partitions must be a positive integer/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message)
  })
})

describe('parseArgs: conventions', () => {
  it('asks for the version with --version, -v or version', () => {
    for (const v of ['--version', '-v', 'version']) expect(parseArgs([v])).toEqual({ command: 'version' })
  })

  it('suggests the closest option for a mistyped one', () => {
    expect(usage(['run', 'job.ts', '--lgo', 'x'])).toBe("unknown option '--lgo' for run: did you mean --log? (weir run --help lists them)")
    expect(usage(['explain', 'job.ts', '--mermiad'])).toMatch(/did you mean --mermaid\?/)
  })

  it('reads --format and --max-dead-letters', () => {
    expect(parseArgs(['run', 'job.ts', '--log', 'x', '--format', 'csv', '--max-dead-letters', '2%'])).toMatchObject({ format: 'csv', maxDeadLetters: { percent: 2 } })
    expect(parseArgs(['run', 'job.ts', '--log', 'x', '--max-dead-letters=0'])).toMatchObject({ format: undefined, maxDeadLetters: { count: 0 } })
  })

  it.each([
    [['run', 'job.ts', '--log', 'x', '--format', 'json'], "--format must be ndjson, csv or table, got 'json'"],
    [['report', 'job.ts', '--out', 'r.html'], 'report needs --log <file> (the recorded NDJSON log to replay)'],
    [['report', 'job.ts', '--log', 'x'], 'report needs --out <file.html> (where to write the page)'],
    [['report', 'job.ts', '--log', 'x', '--out', 'r.png'], "report writes an HTML page: --out must end in .html, got 'r.png'"],
    [['diff', 'a.ts', '--log', 'x'], 'diff takes two pipeline modules, the old and the new version, got 1: a.ts'],
    [['diff', 'a.ts', 'b.ts'], 'diff needs --log <file> (the recorded NDJSON log to replay through both)'],
    [['run', 'job.ts', '--log', '-', '--watch'], '--watch needs a --log file to replay again (standard input can be read once)'],
    [['run', 'job.ts', '--redis', 'redis://x', '--from', 't', '--group', 'g', '--consumer', 'c', '--watch'], '--watch is for --log runs (a --redis member runs until stopped)'],
    [['diff', 'a.ts', 'b.ts', '--log', 'x', '--out', 'y'], /unknown option '--out' for diff: did you mean --log\?|unknown option '--out' for diff/],
    [['run', 'job.ts', '--log', 'x', '--max-dead-letters', 'many'], /--max-dead-letters must be a count \(10\) or a percentage/],
    [['run', 'job.ts', '--log', 'x', '--max-dead-letters', '1.5'], /--max-dead-letters must be a count/],
    [['run', 'job.ts', '--log', 'x', '--max-dead-letters', '120%'], /--max-dead-letters must be a count/],
    [['run', 'job.ts', '--redis', 'r', '--from', 'a', '--group', 'g', '--consumer', 'c', '--format', 'csv'], /--format is for --log runs/],
  ])('rejects %j', (argv, message) => {
    const m = usage(argv as string[])
    if (typeof message === 'string') expect(m).toBe(message)
    else expect(m).toMatch(message)
  })
})

describe('usageOf', () => {
  it("is the command's own lines of the usage", () => {
    const run = usageOf('run')
    expect(run).toMatch(/^usage:\n  weir run <pipeline-module> --log/)
    expect(run).toContain('--redis <url>')
    expect(run).not.toContain('weir explain')
    expect(usageOf('diff')).toMatch(/^usage:\n  weir diff <a-module> <b-module> --log <file>/)
    expect(usageOf('explain')).toBe("usage:\n  weir explain <pipeline-module> [--mermaid]\n      print the pipeline's plan, as text or as a Mermaid flowchart")
  })
})
