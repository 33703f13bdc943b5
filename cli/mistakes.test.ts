/**
 * User mistakes at the `weir` command, against the project's rules: "The CLI prints clear one-line errors, not
 * stack traces, for user mistakes" and "Bad input never crashes a pipeline and is never lost
 * silently". Each test states a user mistake (or ordinary usage) and the behaviour the rules ask for.
 */
import { afterAll, describe, expect, it, vi } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { main, type CliIO } from './weir.ts'
import { parseArgs } from './args.ts'

// The in-process `--redis` tests run against a scripted stand-in for ioredis (spawned CLI processes
// are not mocked): one member "c1" of its group, one topic "flights" with one partition, and the
// entries in `redisScript.entries` delivered by the first blocking XREADGROUP; then the group is
// drained, so `--idle-exit` ends the run.
const redisScript = vi.hoisted(() => ({ entries: [] as [id: string, fields: string[]][], added: [] as unknown[][] }))
vi.mock('ioredis', () => {
  class FakeRedis {
    constructor() {
      return new Proxy(this, {
        get(target, prop) {
          if (prop in target) return (target as Record<string | symbol, unknown>)[prop]
          if (prop === 'then') return undefined
          return async () => null
        },
      })
    }
    async connect() {}
    disconnect() {}
    duplicate() {
      return new FakeRedis()
    }
    pipeline() {
      const p = { xack: () => p, exec: async () => [] }
      return p
    }
    async xadd(...args: unknown[]) {
      redisScript.added.push(args)
      return '1-0'
    }
    async zrangebyscore() {
      return ['c1', String(Date.now())]
    }
    async hget() {
      return '1'
    }
    async smembers() {
      return []
    }
    async xpending() {
      return []
    }
    async xinfo(kind: string) {
      return kind === 'STREAM' ? ['length', 0, 'last-generated-id', '0-0'] : []
    }
    async xreadgroup(...args: unknown[]) {
      if (!args.includes('BLOCK')) return null
      if (redisScript.entries.length > 0) return [['flights:0', redisScript.entries.splice(0)]]
      await new Promise((r) => setTimeout(r, 5))
      return null
    }
  }
  return { Redis: FakeRedis, default: FakeRedis }
})

const root = join(import.meta.dirname, '..')
const BIN = join(root, 'bin', 'weir.mjs')
const FIXTURE = 'cli/fixtures/flightDelays.ts'
const FLIGHTS = 'examples/data/flights.ndjson'
const dir = mkdtempSync(join(tmpdir(), 'weir-mistakes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A directory whose package.json makes .ts files ES modules (as in this repository). */
const esmDir = join(dir, 'esm')
mkdirSync(esmDir)
writeFileSync(join(esmDir, 'package.json'), '{"type":"module"}\n')
const repo = (p: string) => JSON.stringify(pathToFileURL(join(root, p)).href)

const flight = (id: number) => JSON.stringify({ arrival: 1000 + id, event: { id, scheduled: 1000 + id, delay: 0, origin: 'SFO' } })

/** A stack-frame line, as Node prints them. */
const FRAME = /^\s+at /m

interface Ran {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
  killed: boolean
}

/** Runs the real `weir` command (node bin/weir.mjs ...), killing it after `killAfterMs`. */
function weir(
  args: string[],
  opts: { cwd?: string; killAfterMs?: number; onStdout?: (chunk: Buffer, child: ReturnType<typeof spawn>) => void } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout!.on('data', (c: Buffer) => {
      if (opts.onStdout) opts.onStdout(c, child)
      else stdout += c.toString()
    })
    child.stdout!.on('error', () => undefined)
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, opts.killAfterMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, killed })
    })
  })
}

/** stderr is exactly one line, starting with `weir: `. */
function expectOneLine(stderr: string): string {
  expect(stderr).not.toMatch(FRAME)
  const lines = stderr.split('\n')
  expect(lines, `stderr was:\n${stderr}`).toHaveLength(2)
  expect(lines[1]).toBe('')
  expect(lines[0]).toMatch(/^weir: /)
  return lines[0]
}

describe.concurrent('weir CLI mistakes: pipeline modules', () => {
  it('a syntax error in a TypeScript pipeline module is reported with what and where, not just "Transform failed"', async () => {
    writeFileSync(join(esmDir, 'syntaxError.ts'), 'export default {\n  oops: ,\n}\n')
    const r = await weir(['explain', join(esmDir, 'syntaxError.ts')])
    expect(r.code).toBe(2)
    const line = expectOneLine(r.stderr)
    expect(line).toMatch(/Unexpected/)
    expect(line).toMatch(/syntaxError\.ts:2:\d+/)
  })

  it('bin/weir.mjs loads a valid TypeScript pipeline module that is not inside a "type": "module" package (as `tsx cli/main.ts` does)', async () => {
    const plain = join(dir, 'plain')
    mkdirSync(plain)
    writeFileSync(join(plain, 'package.json'), '{"name":"my-jobs"}\n')
    writeFileSync(
      join(plain, 'job.ts'),
      `import { pipeline } from ${repo('dsl/pipeline.ts')}\nimport { map } from ${repo('dsl/stages.ts')}\n` +
        `export default pipeline({ name: 'job', eventTime: (e: { n: number }) => e.n }, (s) => map((e: { n: number }) => e.n)(s))\n`,
    )
    const r = await weir(['explain', 'job.ts'], { cwd: plain })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^pipeline job\n/)
  })
})

describe.concurrent('weir CLI mistakes: run --log', () => {
  it('an output that JSON cannot hold (a BigInt) does not crash the run with a stack trace', async () => {
    writeFileSync(
      join(esmDir, 'bigint.ts'),
      `import { pipeline } from ${repo('dsl/pipeline.ts')}\nimport { map } from ${repo('dsl/stages.ts')}\n` +
        `export default pipeline({ name: 'bigint', eventTime: (e: { n: number }) => e.n }, (s) => map((e: { n: number }) => ({ n: BigInt(e.n) }))(s))\n`,
    )
    const log = join(dir, 'numbers.ndjson')
    writeFileSync(log, [1, 2, 3].map((n) => JSON.stringify({ arrival: n, event: { n } })).join('\n') + '\n')
    const r = await weir(['run', join(esmDir, 'bigint.ts'), '--log', log])
    expect(r.stderr).not.toMatch(FRAME)
    expect(r.stderr).not.toContain('reportUnhandledError')
    expect(r.stderr).toMatch(/BigInt/)
    for (const l of r.stderr.trimEnd().split('\n')) expect(l).toMatch(/^weir: /)
  })

  it('--follow reads a log as it is written (a half-written line is not a dead letter), writes each output at once, and SIGINT ends it with the summary', async () => {
    const { appendFileSync } = await import('node:fs')
    const log = join(dir, 'growing.ndjson')
    writeFileSync(log, `${flight(1)}\n${flight(2).slice(0, 20)}`)
    let stdout = ''
    let appended = false
    const r = await weir(['run', FIXTURE, '--log', log, '--follow'], {
      killAfterMs: 30_000,
      onStdout: (chunk, child) => {
        stdout += chunk.toString()
        const lines = stdout.trimEnd().split('\n').length
        if (lines === 1 && !appended) {
          appended = true
          // The writer finishes its line, writes another, and starts a third.
          appendFileSync(log, `${flight(2).slice(20)}\n${flight(3)}\n${flight(4).slice(0, 10)}`)
        } else if (lines === 3) child.kill('SIGINT')
      },
    })
    expect(r.killed).toBe(false)
    expect(r.code, r.stderr).toBe(0)
    expect(stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id)).toEqual([1, 2, 3])
    expect(r.stderr).toMatch(/^weir: dead letter \(parse\) in source at line 4: line 4 \(at byte \d+\) has no newline yet: 10 bytes/)
    expect(r.stderr).toMatch(/weir: flightDelays: 4 events in, 3 out, 1 dead letter, 0 late/)
  })

  it.skipIf(!existsSync('/dev/full'))('a failing --out write (disk full) is one line and exit 1, not a stack trace', async () => {
    const r = await weir(['run', FIXTURE, '--log', FLIGHTS, '--out', '/dev/full'])
    expect(r.code).toBe(1)
    const line = expectOneLine(r.stderr)
    expect(line).toMatch(/ENOSPC/)
  })

  it('`weir run ... | head -1` (stdout closed early) ends without a stack trace', async () => {
    const r = await weir(['run', FIXTURE, '--log', FLIGHTS], {
      onStdout: (_c, child) => child.stdout!.destroy(),
    })
    expect(r.stderr).not.toContain("Unhandled 'error' event")
    expect(r.stderr).not.toMatch(FRAME)
  })

  it('--out naming the --log file is refused (exit 2) instead of truncating the log and replaying nothing', async () => {
    const log = join(dir, 'same.ndjson')
    const text = [1, 2, 3].map(flight).join('\n') + '\n'
    writeFileSync(log, text)
    const r = await weir(['run', FIXTURE, '--log', log, '--out', log])
    expect(readFileSync(log, 'utf8')).toBe(text)
    expect(r.code).toBe(2)
    expect(expectOneLine(r.stderr)).toMatch(/--out/)
  })

  it('--topic that matches no record says so, rather than silently skipping the whole log', async () => {
    // The bundled log's topic is "flights"; "flight" is a typo.
    const r = await weir(['run', FIXTURE, '--log', FLIGHTS, '--topic', 'flight'])
    expect(r.stderr).toMatch(/topic/i)
  })
})

describe('weir CLI mistakes: run --redis', () => {
  it(
    '--redis with an unreachable server fails quickly with one line (no ioredis stack frames, no hang)',
    async () => {
      const r = await weir(['run', FIXTURE, '--redis', 'redis://127.0.0.1:1', '--from', 'flights', '--group', 'g', '--consumer', 'c1'], {
        killAfterMs: 10_000,
      })
      expect(r.killed).toBe(false)
      expect(r.code).toBe(2)
      const line = expectOneLine(r.stderr)
      expect(line).toMatch(/^weir: cannot connect to --redis redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/)
    },
    15_000,
  )

  it.each([
    ['--out', ['--out', 'results.ndjson']],
    ['--topic', ['--topic', 'flights']],
    ['--partitions', ['--partitions', '4']],
  ])('%s is not silently ignored with --redis (outputs would go elsewhere than asked)', (name, extra) => {
    const argv = ['run', 'job.ts', '--redis', 'redis://h:1', '--from', 'a', '--group', 'g', '--consumer', 'c', ...extra]
    expect(() => parseArgs(argv)).toThrow(new RegExp(name))
  })

  /** Runs `weir run <FIXTURE> --redis ...` in-process against the scripted stand-in, with these entries. */
  async function weirRedis(entries: unknown[], extra: string[] = [], { module = FIXTURE, from = 'flights', group = 'g' } = {}) {
    redisScript.entries = entries.map((e, i) => [`${i + 1}-0`, ['e', typeof e === 'string' ? e : JSON.stringify(e)]])
    let stdout = ''
    let stderr = ''
    const io: CliIO = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      cwd: root,
      env: {},
    }
    const argv = ['run', module, '--redis', 'redis://fake:1', '--from', from, '--group', group, '--consumer', 'c1', '--idle-exit', '50', ...extra]
    const code = await main(argv, io)
    return { code, stdout, stderr }
  }
  const good = { id: 1, scheduled: 1000, delay: 0, origin: 'SFO' }
  const bad = { id: 'x' } // fails the fixture's io-ts codec

  it('run --redis --fail-fast stops at the first dead letter (exit 1), as run --log --fail-fast does', async () => {
    const r = await weirRedis([bad, good], ['--fail-fast'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^weir: failed fast: /)
  })

  it('run --redis shows each dead letter with its reason and position, as run --log does, not only a count', async () => {
    const r = await weirRedis([bad, good])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ id: 1, origin: 'SFO', delayed: false })
    expect(r.stderr).toMatch(/^weir: dead letter \(codec\) in source at offset \d+: /m)
  })

  it('run --redis: an entry that is not JSON is a dead letter and the run goes on, not a failed run', async () => {
    const r = await weirRedis(['not json {', good])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ id: 1, origin: 'SFO', delayed: false })
    expect(r.stderr).toMatch(/dead letter/)
  })

  it('run --redis --dead-letters <stream> appends every dead letter to that stream (field e, NDJSON with reason and position)', async () => {
    redisScript.added = []
    const r = await weirRedis([bad, 'not json {', good], ['--dead-letters', 'flights-dead'])
    expect(r.code).toBe(0)
    expect(redisScript.added.map((a) => a.slice(0, 3))).toEqual([
      ['flights-dead', '*', 'e'],
      ['flights-dead', '*', 'e'],
    ])
    expect(redisScript.added.map((a) => JSON.parse(a[3] as string))).toEqual([
      expect.objectContaining({ _tag: 'DeadLetter', reason: 'codec', stage: 'source', input: bad }),
      expect.objectContaining({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', input: 'not json {' }),
    ])
  })

  it.each([
    ['corrupt JSON', 'not json {'],
    ['JSON that is not a checkpoint', '{}'],
  ])('a --checkpoint file holding %s is reported as such, naming the file', async (_what, content) => {
    const cp = join(dir, `cp-${content.length}.json`)
    writeFileSync(cp, content)
    const r = await weirRedis([], ['--checkpoint', cp])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    const line = expectOneLine(r.stderr)
    expect(line).toContain(cp)
  })

  describe('a --checkpoint of another plan or input is refused: one line, exit code 3, nothing run', () => {
    const flights = [good, { ...good, id: 2 }]

    it('the same pipeline with s: sum added to { n: count }', async () => {
      const cp = join(dir, 'cp-plan.json')
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts' })).code).toBe(0)
      const r = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCountsAndSums.ts' })
      expect(r.code).toBe(3)
      expect(r.stdout).toBe('')
      expect(expectOneLine(r.stderr)).toBe(
        'weir: --checkpoint: checkpoint was taken for a different plan: stage 3 window tumbling 1d (updates) → aggregate { n: count } is now window tumbling 1d (updates) → aggregate { n: count, s: sum }',
      )
    })

    it('another topic or another group', async () => {
      const cp = join(dir, 'cp-input.json')
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts' })).code).toBe(0)
      const topic = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', from: 'trains' })
      expect(topic.code).toBe(3)
      expect(expectOneLine(topic.stderr)).toBe('weir: --checkpoint: checkpoint belongs to redis topics flights group g, not redis topics trains group g')
      const group = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', group: 'g2' })
      expect(group.code).toBe(3)
      expect(expectOneLine(group.stderr)).toMatch(/not redis topics flights group g2$/)
    })

    it('the same plan and input resume', async () => {
      const cp = join(dir, 'cp-same.json')
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts' })).code).toBe(0)
      const again = await weirRedis([{ ...good, id: 3 }], ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts' })
      expect(again.code).toBe(0)
      // The restored count goes on from 2.
      expect(again.stdout).toContain('"value":{"n":3}')
    })
  })
})
