import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Readable } from 'node:stream'
import { main, summary, type CliIO } from './weir.ts'

const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'weir-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const FIXTURE = 'cli/fixtures/flightDelays.ts'
const FLIGHTS = 'examples/data/flights.ndjson'

/** Runs `weir` in-process with captured streams. */
async function weir(argv: string[], opts: { tty?: boolean; stdin?: string } = {}) {
  let stdout = ''
  let stderr = ''
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: opts.tty ?? false, columns: 100 },
    cwd: root,
    env: {},
    stdin: opts.stdin === undefined ? undefined : Readable.from([opts.stdin]),
  }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}

const flight = (id: number, origin: string, delay = 0) =>
  JSON.stringify({ arrival: 1000 + id, topic: id % 2 ? 'odd' : 'even', event: { id, scheduled: 1000 + id, delay, origin } })

describe('weir run', () => {
  it('replays a log: NDJSON outputs on stdout, a one-line summary on stderr, exit 0', async () => {
    const { code, stdout, stderr } = await weir(['run', FIXTURE, '--log', FLIGHTS])
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(20_000)
    expect(JSON.parse(lines[0])).toEqual({ id: 3, origin: 'LAS', delayed: false })
    expect(stderr).toMatch(/^weir: flightDelays: 20,000 events in, 20,000 out, 0 dead letters, 0 late, [\d,]+ events\/s \([\d,]+ ms\)\n$/)
  })

  it('reads the log from standard input with --log -, giving the same output as from the file', async () => {
    const fromFile = await weir(['run', FIXTURE, '--log', FLIGHTS])
    const fromStdin = await weir(['run', FIXTURE, '--log', '-'], { stdin: readFileSync(join(root, FLIGHTS), 'utf8') })
    expect(fromStdin.code).toBe(0)
    expect(fromStdin.stdout).toBe(fromFile.stdout)
    expect(fromStdin.stderr).toMatch(/^weir: flightDelays: 20,000 events in, 20,000 out/)
  })

  it('writes outputs to --out and nothing to stdout', async () => {
    const out = join(dir, 'out.ndjson')
    const { code, stdout } = await weir(['run', FIXTURE, '--log', FLIGHTS, '--out', out])
    expect(code).toBe(0)
    expect(stdout).toBe('')
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(20_000)
  })

  it('gives the same bytes on every run', async () => {
    const a = await weir(['run', FIXTURE, '--log', FLIGHTS])
    const b = await weir(['run', FIXTURE, '--log', FLIGHTS])
    expect(b.stdout).toBe(a.stdout)
  })

  it('shows the first dead letters, counts the rest, and goes on', async () => {
    const log = join(dir, 'bad.ndjson')
    writeFileSync(log, [flight(1, 'SFO'), 'garbage', '{"arrival":1}', flight(2, 'LAX'), '[]', '{"arrival":9,"event":{"id":"x"}}', flight(3, 'SEA')].join('\n'))
    const { code, stdout, stderr } = await weir(['run', FIXTURE, '--log', log])
    expect(code).toBe(0)
    expect(stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id)).toEqual([1, 2, 3])
    expect(stderr.split('\n')).toEqual([
      expect.stringMatching(/^weir: dead letter \(parse\) in source at line 2: not JSON: /),
      'weir: dead letter (parse) in source at line 3: not a log record: event is missing',
      'weir: dead letter (parse) in source at line 5: not a log record: expected an object { offset?, arrival, topic?, event }',
      'weir: ... and 1 more dead letter',
      expect.stringMatching(/^weir: flightDelays: 7 events in, 3 out, 4 dead letters, 0 late, /),
      '',
    ])
  })

  it('an output JSON cannot write (nested 6,000 levels deep) is its record\'s dead letter, with its offset, and the run goes on', async () => {
    const log = join(dir, 'deep.ndjson')
    const deep = '['.repeat(6000) + ']'.repeat(6000)
    writeFileSync(log, ['{"arrival":1,"event":1}', `{"arrival":2,"event":${deep}}`, '{"arrival":3,"event":3}'].join('\n') + '\n')
    const { code, stdout, stderr } = await weir(['run', 'cli/fixtures/passthrough.ts', '--log', log])
    expect(code).toBe(0)
    expect(stdout).toBe('1\n3\n')
    expect(stderr).toMatch(/^weir: dead letter \(output\) in output at offset 2: the output cannot be written as JSON: Maximum call stack size exceeded\n/)
    expect(stderr).toMatch(/passthrough: 3 events in, 2 out, 1 dead letter, 0 late/)
  })

  it('--max-line-bytes: a longer line is a too-long dead letter with its line, position and length, from a file or standard input', async () => {
    const log = join(dir, 'long.ndjson')
    const text = ['{"arrival":1,"event":1}', `{"arrival":2,"event":"${'x'.repeat(5000)}"}`, '{"arrival":3,"event":3}'].join('\n') + '\n'
    writeFileSync(log, text)
    for (const r of [
      await weir(['run', 'cli/fixtures/passthrough.ts', '--log', log, '--max-line-bytes', '1KiB']),
      await weir(['run', 'cli/fixtures/passthrough.ts', '--log', '-', '--max-line-bytes', '1024'], { stdin: text }),
    ]) {
      expect(r.code).toBe(0)
      expect(r.stdout).toBe('1\n3\n')
      expect(r.stderr).toMatch(/^weir: dead letter \(too-long\) in source at line 2: line 2 \(at byte 24\) is 5,?024 bytes long, over maxLineBytes 1,?024\n/)
    }
    expect((await weir(['run', 'cli/fixtures/passthrough.ts', '--log', log, '--max-line-bytes', '0'])).stderr).toBe(
      "weir: --max-line-bytes must be a positive number of bytes (e.g. 1048576 or 16MiB), got '0'\n",
    )
  })

  it('control bytes of a bad line reach stderr escaped (an ESC sequence cannot clear the terminal), also with --fail-fast', async () => {
    const log = join(dir, 'escape.ndjson')
    writeFileSync(log, '{"arrival":1,"event":1}\n\u001b[2J\u001b[H\u0007\u202e{oops\n{"arrival":3,"event":3}\n')
    const r = await weir(['run', 'cli/fixtures/passthrough.ts', '--log', log])
    expect(r.code).toBe(0)
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
    expect(r.stderr).toContain('\\x1b[2J\\x1b[H\\x07\\u202e')
    const ff = await weir(['run', 'cli/fixtures/passthrough.ts', '--log', log, '--fail-fast'])
    expect(ff.code).toBe(1)
    expect(ff.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
  })

  it('--fail-fast stops at the first dead letter with one line and exit 1', async () => {
    const log = join(dir, 'failfast.ndjson')
    writeFileSync(log, [flight(1, 'SFO'), 'garbage', flight(2, 'LAX')].join('\n'))
    const { code, stderr } = await weir(['run', FIXTURE, '--log', log, '--fail-fast'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^weir: failed fast: source: parse at position 2: not JSON: [^\n]*\n$/)
  })

  it('--topic replays one topic only', async () => {
    const log = join(dir, 'topics.ndjson')
    writeFileSync(log, [1, 2, 3, 4, 5].map((i) => flight(i, 'SFO')).join('\n'))
    const { stdout, stderr } = await weir(['run', FIXTURE, '--log', log, '--topic', 'odd'])
    expect(stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id)).toEqual([1, 3, 5])
    expect(stderr).toMatch(/3 events in, 3 out/)
  })

  it('draws a progress bar on stderr only when stderr is a terminal, and erases it before the summary', async () => {
    const plain = await weir(['run', FIXTURE, '--log', FLIGHTS])
    expect(plain.stderr).not.toContain('\r')
    const tty = await weir(['run', FIXTURE, '--log', FLIGHTS], { tty: true })
    expect(tty.stderr).toMatch(/^\r\[[#.]+\] +\d+%  [\d,]+ events/)
    expect(tty.stderr).toMatch(/\r\x1b\[Kweir: flightDelays: 20,000 events in/)
    expect(tty.stdout).toBe(plain.stdout)
  })
})

describe('weir explain', () => {
  it('prints the plan as text', async () => {
    const { code, stdout } = await weir(['explain', FIXTURE])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^pipeline flightDelays\n/)
    expect(stdout).toContain('keyBy')
  })

  it('prints the plan as Mermaid with --mermaid', async () => {
    const { stdout } = await weir(['explain', FIXTURE, '--mermaid'])
    expect(stdout).toMatch(/^flowchart LR\n/)
  })
})

describe('weir usage mistakes: one line on stderr, exit 2, no stack trace', () => {
  it.each([
    [['run', 'no/such/module.ts', '--log', FLIGHTS], 'weir: no such pipeline module: no/such/module.ts'],
    [['run', 'cli/fixtures/notAPipeline.ts', '--log', FLIGHTS], /^weir: cli\/fixtures\/notAPipeline.ts does not default-export a pipeline/],
    [['explain', 'cli/fixtures/throwsOnLoad.ts'], 'weir: could not load cli/fixtures/throwsOnLoad.ts: config missing: set FLIGHTS_URL'],
    [['run', FIXTURE, '--log', 'no/such/log.ndjson'], 'weir: no such log file: no/such/log.ndjson'],
    [['run', FIXTURE, '--log', 'examples'], 'weir: no such log file: examples'],
    [['run', FIXTURE, '--log', FLIGHTS, '--out', 'no/such/dir/out.ndjson'], /^weir: cannot write --out no\/such\/dir\/out.ndjson: ENOENT/],
    [['run', FIXTURE, '--log', FLIGHTS, '--verbose'], /^weir: unknown option '--verbose' for run/],
    [['run', FIXTURE], 'weir: run needs --log <file> (the recorded NDJSON log to replay)'],
    [[], /^weir: missing command/],
  ])('%j', async (argv, message) => {
    const { code, stdout, stderr } = await weir(argv as string[])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    const lines = stderr.split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toBe('')
    if (typeof message === 'string') expect(lines[0]).toBe(message)
    else expect(lines[0]).toMatch(message)
  })

  it('--help prints the usage on stdout and exits 0', async () => {
    const { code, stdout } = await weir(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^usage:\n  weir run <pipeline-module> --log <file\|->/)
  })
})

describe('summary', () => {
  it('formats the counters on one line', () => {
    expect(
      summary('flights', { eventsIn: 20_000, eventsOut: 19_998, deadLetters: 1, late: 0, skipped: 0, wallMs: 48.2, eventsPerSecond: 412_345.6 }),
    ).toBe('weir: flights: 20,000 events in, 19,998 out, 1 dead letter, 0 late, 412,346 events/s (48 ms)')
  })
})

describe('bin/weir.mjs', () => {
  const run = promisify(execFile)
  const bin = join(root, 'bin', 'weir.mjs')

  it('runs a TypeScript pipeline module through tsx', async () => {
    const { stdout, stderr } = await run(process.execPath, [bin, 'run', FIXTURE, '--log', FLIGHTS], { cwd: root, maxBuffer: 64 * 2 ** 20 })
    expect(stdout.trimEnd().split('\n')).toHaveLength(20_000)
    expect(stderr).toMatch(/^weir: flightDelays: 20,000 events in/)
  })

  it('exits with code 2 and one line on a usage mistake', async () => {
    const err = await run(process.execPath, [bin, 'run', FIXTURE, '--nope'], { cwd: root }).catch((e: { code: number; stderr: string }) => e)
    expect(err).toMatchObject({ code: 2, stderr: "weir: unknown option '--nope' for run (options: --log, --out, --fail-fast, --topic, --max-line-bytes, --follow, --redis, --from, --group, --consumer, --to, --partitions, --upsert, --key, --idle-exit, --members, --checkpoint, --checkpoint-every, --max-deliveries, --dead-letter-stream)\n" })
  })
})
