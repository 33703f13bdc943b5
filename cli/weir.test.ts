import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
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
      'weir: ... and 1 more dead letter (--dead-letters <file> writes them all)',
      expect.stringMatching(/^weir: flightDelays: 7 events in, 3 out, 4 dead letters, 0 late, /),
      '',
    ])
  })

  describe('--dead-letters and --late: every one to a file, only the first few in memory', () => {
    it('writes every dead letter as an NDJSON line with its reason, stage and position, and says where they are', async () => {
      const N = 2_000
      const log = join(dir, 'many-bad.ndjson')
      const lines = [flight(1, 'SFO')]
      for (let i = 0; i < N; i++) lines.push(i % 2 ? `garbage ${i}` : JSON.stringify({ arrival: 5, event: { id: `x${i}` } }))
      lines.push(flight(2, 'LAX'))
      writeFileSync(log, lines.join('\n'))
      const dl = join(dir, 'dead.ndjson')
      const { code, stdout, stderr } = await weir(['run', FIXTURE, '--log', log, '--dead-letters', dl])
      expect(code).toBe(0)
      expect(stdout.trimEnd().split('\n')).toHaveLength(2)
      const dead = readFileSync(dl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
      expect(dead).toHaveLength(N)
      expect(dead[0]).toMatchObject({ _tag: 'DeadLetter', reason: 'codec', stage: 'source', pos: 2, input: { id: 'x0' } })
      expect(dead[1]).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', pos: 3, input: 'garbage 1' })
      expect(dead.map((d) => d.pos)).toEqual(Array.from({ length: N }, (_, i) => i + 2))
      expect(stderr).toContain(`weir: ... and ${(N - 3).toLocaleString('en-US')} more dead letters (all in ${dl})\n`)
    })

    it('writes every late event with its time, watermark and position', async () => {
      const day = 86_400_000
      const at = (id: number, t: number) => JSON.stringify({ arrival: id, event: { id, scheduled: t, delay: 0, origin: 'SFO' } })
      const log = join(dir, 'late.ndjson')
      writeFileSync(log, [at(1, 5 * day), at(2, 6 * day), at(3, day), at(4, 2 * day), at(5, 7 * day)].join('\n'))
      const lateFile = join(dir, 'late-out.ndjson')
      const { code, stderr } = await weir(['run', 'cli/fixtures/originCounts.ts', '--log', log, '--late', lateFile])
      expect(code).toBe(0)
      const late = readFileSync(lateFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
      expect(late.map((l) => [l._tag, l.stage, l.pos, l.time, l.watermark])).toEqual([
        ['Late', 'window', 3, day, 6 * day],
        ['Late', 'window', 4, 2 * day, 6 * day],
      ])
      expect(stderr).toMatch(/2 late, /)
    })

    it.skipIf(!existsSync('/dev/full'))('a --dead-letters file that cannot be written (disk full) fails the run with one line, exit 1', async () => {
      const log = join(dir, 'full.ndjson')
      writeFileSync(log, [flight(1, 'SFO'), 'garbage'].join('\n'))
      const r = await weir(['run', FIXTURE, '--log', log, '--dead-letters', '/dev/full'])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^weir: cannot write --dead-letters \/dev\/full: ENOSPC[^\n]*\n$/)
    })

    it('refuses a --dead-letters file that is the log or the --out file (it would be truncated)', async () => {
      const log = join(dir, 'self.ndjson')
      writeFileSync(log, flight(1, 'SFO'))
      expect((await weir(['run', FIXTURE, '--log', log, '--dead-letters', log])).stderr).toBe(`weir: --dead-letters ${log} is the --log file; write them elsewhere\n`)
      const out = join(dir, 'o.ndjson')
      const r = await weir(['run', FIXTURE, '--log', log, '--out', out, '--late', out])
      expect(r).toMatchObject({ code: 2, stderr: `weir: --late ${out} is the --out file; write them elsewhere\n` })
    })
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

describe('weir run: conventions', () => {
  const HOURLY = 'cli/fixtures/hourlyCounts.ts'
  const hour = 3_600_000
  const at = (id: number, scheduled: number, origin = 'SFO') => JSON.stringify({ arrival: id, event: { id, scheduled, delay: 0, origin } })

  it('exits 1 when every record was a dead letter (a gzip file given as --log), saying so after the summary', async () => {
    const log = join(dir, 'flights.ndjson.gz')
    writeFileSync(log, gzipSync(readFileSync(join(root, FLIGHTS))))
    const { code, stdout, stderr } = await weir(['run', HOURLY, '--log', log])
    expect(code).toBe(1)
    expect(stdout).toBe('')
    const lines = stderr.trimEnd().split('\n')
    expect(lines.at(-2)).toMatch(/^weir: hourlyCounts: [\d,]+ events in, 0 out, [\d,]+ dead letters/)
    expect(lines.at(-1)).toMatch(/^weir: failed: every one of the [\d,]+ records read was a dead letter: is the input a log of what the pipeline reads\?$/)
  })

  it('--max-dead-letters fails the run above a count or a percentage, after writing the outputs', async () => {
    const log = join(dir, 'some-bad.ndjson')
    writeFileSync(log, [at(1, 0), 'garbage', at(2, 1), '{"arrival":3,"event":{"id":"x"}}'].join('\n'))
    expect((await weir(['run', HOURLY, '--log', log, '--max-dead-letters', '2'])).code).toBe(0)
    const over = await weir(['run', HOURLY, '--log', log, '--max-dead-letters', '1'])
    expect(over.code).toBe(1)
    expect(over.stdout).toBe('{"key":"SFO","window":{"start":0,"end":3600000},"value":{"flights":2}}\n')
    expect(over.stderr).toMatch(/\nweir: failed: 2 dead letters, more than --max-dead-letters 1\n$/)
    const percent = await weir(['run', HOURLY, '--log', log, '--max-dead-letters', '40%'])
    expect(percent.code).toBe(1)
    expect(percent.stderr).toMatch(/\nweir: failed: 2 dead letters in 4 records \(50\.00%\), more than --max-dead-letters 40%\n$/)
  })

  it('prints the times of late events as ISO 8601', async () => {
    const log = join(dir, 'late.ndjson')
    writeFileSync(log, [at(1, 978_307_200_000 + 2 * hour), at(2, 978_307_200_000)].join('\n'))
    const { code, stderr } = await weir(['run', HOURLY, '--log', log])
    expect(code).toBe(0)
    expect(stderr).toContain('weir: late event in window at offset 2: time 2001-01-01T00:00:00.000Z < watermark 2001-01-01T02:00:00.000Z\n')
  })

  it('--format csv writes the outputs as CSV with a header row', async () => {
    const log = join(dir, 'csv.ndjson')
    writeFileSync(log, [at(1, 0, 'SFO'), at(2, 1, 'LAX'), at(3, hour, 'SFO')].join('\n'))
    const { code, stdout } = await weir(['run', HOURLY, '--log', log, '--format', 'csv'])
    expect(code).toBe(0)
    expect(stdout).toBe('key,window.start,window.end,value.flights\nSFO,0,3600000,1\nLAX,0,3600000,1\nSFO,3600000,7200000,1\n')
  })

  it('--format table writes the first outputs as an aligned table, window bounds as ISO times, and counts the rest', async () => {
    const log = join(dir, 'table.ndjson')
    writeFileSync(log, [at(1, 0, 'SFO'), at(2, 1, 'LAX'), at(3, hour, 'SFO')].join('\n'))
    const { code, stdout, stderr } = await weir(['run', HOURLY, '--log', log, '--format', 'table'])
    expect(code).toBe(0)
    expect(stdout).toBe(
      [
        'key  window.start       window.end         value.flights',
        '───  ─────────────────  ─────────────────  ─────────────',
        'SFO  1970-01-01T00:00Z  1970-01-01T01:00Z              1',
        'LAX  1970-01-01T00:00Z  1970-01-01T01:00Z              1',
        'SFO  1970-01-01T01:00Z  1970-01-01T02:00Z              1',
        '',
      ].join('\n'),
    )
    expect(stderr).toMatch(/^weir: hourlyCounts: 3 events in, 3 out/)
    const many = join(dir, 'table-many.ndjson')
    writeFileSync(many, Array.from({ length: 60 }, (_, i) => at(i + 1, i * hour, 'SFO')).join('\n'))
    const long = await weir(['run', HOURLY, '--log', many, '--format', 'table'])
    expect(long.stdout.trimEnd().split('\n').at(-1)).toBe('… 10 more rows (60 in all)')
    expect(long.stdout.trimEnd().split('\n')).toHaveLength(53)
  })
})

describe('weir diff', () => {
  const at = (id: number, scheduled: number, origin = 'SFO') => JSON.stringify({ offset: id, arrival: id, event: { id, scheduled, delay: 0, origin } })
  const hour = 3_600_000
  const log = join(dir, 'diff.ndjson')
  writeFileSync(log, [at(1, 0), at(2, hour), at(3, 2 * hour, 'LAX'), at(4, 3 * hour)].join('\n'))

  it('exits 0 and says so when two versions give identical results', async () => {
    const { code, stdout, stderr } = await weir(['diff', 'cli/fixtures/hourlyCounts.ts', 'cli/fixtures/hourlyCountsRefactored.ts', '--log', log])
    expect(code).toBe(0)
    expect(stdout).toBe('')
    expect(stderr).toBe('weir: diff cli/fixtures/hourlyCounts.ts -> cli/fixtures/hourlyCountsRefactored.ts: identical results, 4 the same\n')
  })

  it('exits 1 and lists each differing result with the offset where it diverged', async () => {
    const { code, stdout, stderr } = await weir(['diff', 'cli/fixtures/hourlyCounts.ts', 'cli/fixtures/twoHourCounts.ts', '--log', log])
    expect(code).toBe(1)
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      'removed key SFO, window [1970-01-01T00:00Z, 1970-01-01T01:00Z) (from offset 1): - {"key":"SFO","window":{"start":0,"end":3600000},"value":{"flights":1}}',
      'added   key SFO, window [1970-01-01T00:00Z, 1970-01-01T02:00Z) (from offset 2): + {"key":"SFO","window":{"start":0,"end":7200000},"value":{"flights":2}}',
      'removed key SFO, window [1970-01-01T01:00Z, 1970-01-01T02:00Z) (from offset 2): - {"key":"SFO","window":{"start":3600000,"end":7200000},"value":{"flights":1}}',
    ])
    expect(stderr).toBe('weir: diff cli/fixtures/hourlyCounts.ts -> cli/fixtures/twoHourCounts.ts: 3 added, 4 removed, 0 changed, 0 the same\n')
  })

  it('a missing module or log is one line, exit 2', async () => {
    const missing = await weir(['diff', 'cli/fixtures/hourlyCounts.ts', 'nope.ts', '--log', log])
    expect(missing).toMatchObject({ code: 2, stderr: 'weir: no such pipeline module: nope.ts\n' })
    const noLog = await weir(['diff', 'cli/fixtures/hourlyCounts.ts', 'cli/fixtures/hourlyCounts.ts', '--log', 'nope.ndjson'])
    expect(noLog).toMatchObject({ code: 2, stderr: 'weir: no such log file: nope.ndjson\n' })
  })
})

describe('weir report', () => {
  it('writes the HTML page to --out and says so in one line', async () => {
    const out = join(dir, 'report.html')
    const { code, stdout, stderr } = await weir(['report', 'cli/fixtures/hourlyCounts.ts', '--log', FLIGHTS, '--out', out])
    expect(code).toBe(0)
    expect(stdout).toBe('')
    expect(stderr).toMatch(/^weir: wrote \S+report\.html \([\d,]+ KiB\)\n$/)
    const html = readFileSync(out, 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<h1>hourlyCounts</h1>')
  })

  it('refuses to write over the log, and a missing log is one line, exit 2', async () => {
    const log = join(dir, 'report-log.html')
    writeFileSync(log, '')
    expect(await weir(['report', 'cli/fixtures/hourlyCounts.ts', '--log', log, '--out', log])).toMatchObject({
      code: 2,
      stderr: `weir: --out ${log} is the --log file; write the report elsewhere\n`,
    })
    expect(await weir(['report', 'cli/fixtures/hourlyCounts.ts', '--log', 'nope.ndjson', '--out', join(dir, 'r.html')])).toMatchObject({
      code: 2,
      stderr: 'weir: no such log file: nope.ndjson\n',
    })
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

  it('--version prints the package version on stdout and exits 0', async () => {
    const { code, stdout } = await weir(['--version'])
    expect(code).toBe(0)
    expect(stdout).toBe(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`)
  })

  it('<command> --help prints only that command\'s usage', async () => {
    const { code, stdout } = await weir(['explain', '--help'])
    expect(code).toBe(0)
    expect(stdout).toBe("usage:\n  weir explain <pipeline-module> [--mermaid]\n      print the pipeline's plan, as text or as a Mermaid flowchart\n")
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
    expect(err).toMatchObject({ code: 2, stderr: expect.stringMatching(/^weir: unknown option '--nope' for run \(options: --log, --out, [^\n]*\)\n$/) })
  })
})

describe('weir state', () => {
  const at = (id: number, scheduled: number, origin = 'SFO') => JSON.stringify({ offset: id, arrival: 1_700_000_000_000 + id * 1000, event: { id, scheduled, delay: 0, origin } })
  const hour = 3_600_000
  const log = join(dir, 'state.ndjson')
  writeFileSync(log, [at(1, 0), at(2, hour), at(3, hour + 400_000, 'LAX'), at(4, 3 * hour)].join('\n'))

  it('prints every stateful stage after the record at --at: open windows with partial aggregates, and the watermark', async () => {
    const { code, stdout, stderr } = await weir(['state', 'cli/fixtures/hourlyCounts.ts', '--log', log, '--at', '3'])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toBe(
      [
        'pipeline hourlyCounts, after offset 3 (arrival 2023-11-14T22:13:23.000Z)',
        '  source: watermark 1970-01-01T01:06:40.000Z, largest event time 1970-01-01T01:06:40.000Z',
        '  3. window tumbling 1h → aggregate { flights: count }: 2 open windows, watermark 1970-01-01T01:06:40.000Z',
        '    key "LAX" [1970-01-01T01:00:00.000Z, 1970-01-01T02:00:00.000Z): {"flights":1}',
        '    key "SFO" [1970-01-01T01:00:00.000Z, 1970-01-01T02:00:00.000Z): {"flights":1}',
        '',
      ].join('\n'),
    )
  })

  it('--at an ISO time is the first record arriving at or after it; --json prints the state as JSON', async () => {
    const { code, stdout } = await weir(['state', 'cli/fixtures/hourlyCounts.ts', '--log', log, '--at', '2023-11-14T22:13:21.500Z', '--json'])
    expect(code).toBe(0)
    const s = JSON.parse(stdout)
    expect(s).toMatchObject({ pipeline: 'hourlyCounts', offset: 2, source: { watermark: hour, maxEventTime: hour } })
    expect(s.stages[0].state.windows).toEqual([{ key: 'SFO', start: hour, end: 2 * hour, partial: { flights: 1 }, fired: false }])
  })

  it('an --at that is not an offset or an ISO time, or that the log does not reach, is one line, exit 2', async () => {
    const cases: [string, string][] = [
      ['soon', "weir: --at must be a log offset (a whole number from 0) or an ISO time such as 2024-05-01T10:00:00Z, got 'soon'\n"],
      ['-3', "weir: --at must be a log offset (a whole number from 0) or an ISO time such as 2024-05-01T10:00:00Z, got '-3'\n"],
      ['9', 'weir: --at 9: no record at that offset (the log ends at offset 4, arrival 2023-11-14T22:13:24.000Z)\n'],
      ['2030-01-01', 'weir: --at 2030-01-01: no record arrives at or after it (the log ends at offset 4, arrival 2023-11-14T22:13:24.000Z)\n'],
    ]
    for (const [value, stderr] of cases)
      expect(await weir(['state', 'cli/fixtures/hourlyCounts.ts', '--log', log, '--at', value])).toEqual({ code: 2, stdout: '', stderr })
    expect(await weir(['state', 'cli/fixtures/hourlyCounts.ts', '--log', log])).toMatchObject({ code: 2, stderr: 'weir: state needs --at <offset|ISO time> (where in the log to look)\n' })
  })
})
