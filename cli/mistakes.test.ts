/**
 * User mistakes at the `weir` command, against the project's rules: "The CLI prints clear one-line errors, not
 * stack traces, for user mistakes" and "Bad input never crashes a pipeline and is never lost
 * silently". Each test states a user mistake (or ordinary usage) and the behaviour the rules ask for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { main, type CliIO } from './weir.ts'
import { parseArgs } from './args.ts'
import { REDIS_URL, missing, unique } from '../connectors/testing/servers.ts'
import { createTopic, streamKey, TOPICS_KEY } from '../connectors/redis/topic.ts'

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
})

// In-process runs of `weir run --redis` against the real server (CI starts one; skipped without
// REDIS_URL): each test writes its entries to a topic of its own with one partition and reads it
// with a group of its own, `--idle-exit` ending the run once the group is drained.
describe.skipIf(missing('REDIS_URL'))('weir CLI mistakes: run --redis (real server)', () => {
  let redis: Redis
  const topics: string[] = []
  const groups: string[] = []
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(async () => {
    for (const topic of topics) {
      await redis.del(streamKey(topic, 0))
      await redis.hdel(TOPICS_KEY, topic)
    }
    for (const group of groups) await redis.del(`weir:members:${group}`, `weir:idle:${group}`)
    redis.disconnect()
  })

  /**
   * Appends `entries` (JSON unless a string) to a topic (a new one unless given) and runs
   * `weir run <module> --redis ...` on it in-process, with a new group unless one is given.
   */
  async function weirRedis(entries: unknown[], extra: string[] = [], { module = FIXTURE, topic = unique('mistakes'), group = unique('g') } = {}) {
    if (!topics.includes(topic)) topics.push(topic)
    if (!groups.includes(group)) groups.push(group)
    await createTopic(redis, topic, 1)
    for (const e of entries) await redis.xadd(streamKey(topic, 0), '*', 'e', typeof e === 'string' ? e : JSON.stringify(e))
    let stdout = ''
    let stderr = ''
    const io: CliIO = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      cwd: root,
      env: {},
    }
    const argv = ['run', module, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', 'c1', '--idle-exit', '200', ...extra]
    const code = await main(argv, io)
    /** Entries read by the group and not acknowledged. */
    const pending = async () => {
      try {
        return Number(((await redis.xpending(streamKey(topic, 0), group)) as [number])[0])
      } catch (e) {
        // A group the run never created has read nothing.
        if (/NOGROUP/.test(String(e))) return 0
        throw e
      }
    }
    return { code, stdout, stderr, pending }
  }
  const good = { id: 1, scheduled: 1000, delay: 0, origin: 'SFO' }
  const bad = { id: 'x' } // fails the fixture's io-ts codec

  it('run --redis --fail-fast stops at the first dead letter (exit 1), as run --log --fail-fast does', async () => {
    const r = await weirRedis([bad, good], ['--fail-fast'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^weir: failed fast: /)
    expect(r.stdout).toBe('')
  })

  it('run --redis shows each dead letter with its reason and position, as run --log does, not only a count, and acknowledges it', async () => {
    const r = await weirRedis([bad, good])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ id: 1, origin: 'SFO', delayed: false })
    expect(r.stderr).toMatch(/^weir: dead letter \(codec\) in source at offset \d+: /m)
    // A dead letter is handled (reported), so it is acknowledged like the rest: the broker would redeliver it forever otherwise.
    expect(await r.pending()).toBe(0)
  })

  it('run --redis: an entry that is not JSON is a dead letter, acknowledged, and the run goes on, not a failed run', async () => {
    const r = await weirRedis(['not json {', good])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ id: 1, origin: 'SFO', delayed: false })
    expect(r.stderr).toMatch(/dead letter/)
    expect(await r.pending()).toBe(0)
  })

  it('run --redis --dead-letters <stream> appends every dead letter to that stream (field e, NDJSON with reason and position)', async () => {
    const stream = unique('mistakes-dead')
    topics.push(stream)
    const r = await weirRedis([bad, 'not json {', good], ['--dead-letters', stream])
    expect(r.code).toBe(0)
    const added = (await redis.xrange(stream, '-', '+')).map(([, fields]) => fields)
    expect(added.map((f) => f[0])).toEqual(['e', 'e'])
    expect(added.map((f) => JSON.parse(f[1]))).toEqual([
      expect.objectContaining({ _tag: 'DeadLetter', reason: 'codec', stage: 'source', input: bad }),
      expect.objectContaining({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', input: 'not json {' }),
    ])
    expect(await r.pending()).toBe(0)
  })

  it.each([
    ['corrupt JSON', 'not json {'],
    ['JSON that is not a checkpoint', '{}'],
  ])('a --checkpoint file holding %s is reported as such, naming the file, and nothing is consumed', async (_what, content) => {
    const cp = join(dir, `cp-${content.length}.json`)
    writeFileSync(cp, content)
    const r = await weirRedis([good], ['--checkpoint', cp])
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    const line = expectOneLine(r.stderr)
    expect(line).toContain(cp)
    expect(await r.pending()).toBe(0)
  })

  describe('a --checkpoint of another plan or input is refused: one line, exit code 3, nothing run', () => {
    const flights = [good, { ...good, id: 2 }]

    it('the same pipeline with s: sum added to { n: count }', async () => {
      const cp = join(dir, 'cp-plan.json')
      const at = { topic: unique('mistakes'), group: unique('g') }
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', ...at })).code).toBe(0)
      const r = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCountsAndSums.ts', ...at })
      expect(r.code).toBe(3)
      expect(r.stdout).toBe('')
      expect(expectOneLine(r.stderr)).toBe(
        'weir: --checkpoint: checkpoint was taken for a different plan: stage 3 window tumbling 1d (updates) → aggregate { n: count } is now window tumbling 1d (updates) → aggregate { n: count, s: sum }',
      )
    })

    it('another topic or another group', async () => {
      const cp = join(dir, 'cp-input.json')
      const at = { topic: unique('mistakes'), group: unique('g') }
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', ...at })).code).toBe(0)
      const trains = unique('trains')
      const topic = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', group: at.group, topic: trains })
      expect(topic.code).toBe(3)
      expect(expectOneLine(topic.stderr)).toBe(`weir: --checkpoint: checkpoint belongs to redis topics ${at.topic} group ${at.group}, not redis topics ${trains} group ${at.group}`)
      const g2 = unique('g2')
      const group = await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', topic: at.topic, group: g2 })
      expect(group.code).toBe(3)
      expect(expectOneLine(group.stderr)).toBe(`weir: --checkpoint: checkpoint belongs to redis topics ${at.topic} group ${at.group}, not redis topics ${at.topic} group ${g2}`)
    })

    it('the same plan and input resume', async () => {
      const cp = join(dir, 'cp-same.json')
      const at = { topic: unique('mistakes'), group: unique('g') }
      expect((await weirRedis(flights, ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', ...at })).code).toBe(0)
      const again = await weirRedis([{ ...good, id: 3 }], ['--checkpoint', cp], { module: 'cli/fixtures/originCounts.ts', ...at })
      expect(again.code).toBe(0)
      // The restored count goes on from 2.
      expect(again.stdout).toContain('"value":{"n":3}')
    })
  })

  /** Appends `entries` to a new topic of one partition, removed after the suite. */
  const topicWith = async (entries: unknown[]) => {
    const topic = unique('sources')
    topics.push(topic)
    await createTopic(redis, topic, 1)
    for (const e of entries) await redis.xadd(streamKey(topic, 0), '*', 'e', JSON.stringify(e))
    return topic
  }
  const inProcess = async (argv: string[]) => {
    let stdout = ''
    let stderr = ''
    const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: root, env: {} }
    return { code: await main(argv, io), stdout, stderr }
  }

  it('run --redis --from clicks=<topic>,searches=<topic> reads each source of a pipeline from its topic and acknowledges every entry', async () => {
    const clicks = await topicWith([{ user: 'a', at: 1 }, { user: 'b', at: 2 }])
    const searches = await topicWith([{ user: 'a', at: 1, query: 'q' }])
    const group = unique('g')
    groups.push(group)
    const r = await inProcess(['run', 'cli/fixtures/twoSources.ts', '--redis', REDIS_URL!, '--from', `clicks=${clicks},searches=${searches}`, '--group', group, '--consumer', 'c1', '--idle-exit', '200'])
    expect(r.stderr).toMatch(/3 events in, 3 out/)
    expect(r.code).toBe(0)
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(out.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([{ click: 'a' }, { click: 'b' }, { search: 'q' }])
    for (const t of [clicks, searches]) expect(Number(((await redis.xpending(streamKey(t, 0), group)) as [number])[0])).toBe(0)
  })

  it('run --redis of a stateful pipeline with several sources runs as a group member, partition p of each topic together', async () => {
    const clicks = await topicWith([{ id: 0, user: 'a', at: 100 }, { id: 1, user: 'b', at: 200 }])
    const searches = await topicWith([{ id: 0, user: 'a', at: 98 }, { id: 1, user: 'a', at: 103 }, { id: 2, user: 'b', at: 300 }])
    const group = unique('g')
    groups.push(group)
    const r = await inProcess(['run', 'connectors/redis/fixtures/joinCount.ts', '--redis', REDIS_URL!, '--from', `clicks=${clicks},searches=${searches}`, '--group', group, '--consumer', 'c1', '--idle-exit', '200'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`c1 owns partitions [0] of ${clicks},${searches}`)
    const last = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).at(-1)
    expect(last.after).toMatchObject({ key: 'a', value: { pairs: 2 } })
    for (const t of [clicks, searches]) expect(Number(((await redis.xpending(streamKey(t, 0), group)) as [number])[0])).toBe(0)
  })

  it('run --redis --checkpoint <file> of a pipeline with several sources resumes the join from the file, each topic where it left off', async () => {
    const clicks = await topicWith([{ id: 0, user: 'a', at: 100 }])
    const searches = await topicWith([{ id: 0, user: 'a', at: 98 }])
    const group = unique('g')
    groups.push(group)
    const cp = join(dir, 'cp-sources.json')
    const args = ['run', 'connectors/redis/fixtures/joinCount.ts', '--redis', REDIS_URL!, '--from', `clicks=${clicks},searches=${searches}`, '--group', group, '--consumer', 'c1', '--idle-exit', '200', '--checkpoint', cp]
    const first = await inProcess(args)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain('"pairs":1')
    // The click at 100 is restored into the join's state: it pairs with a search of the next run.
    await redis.xadd(streamKey(searches, 0), '*', 'e', JSON.stringify({ id: 1, user: 'a', at: 103 }))
    const second = await inProcess(args)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toMatch(/: 1 events in, 1 out/)
    expect(second.stdout).toContain('"pairs":2')
  })

  it('run --redis refuses a topic given to two sources with one line, exit 2', async () => {
    const topic = await topicWith([])
    const r = await inProcess(['run', 'connectors/redis/fixtures/joinCount.ts', '--redis', REDIS_URL!, '--from', `clicks=${topic},searches=${topic}`, '--group', unique('g'), '--consumer', 'c1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`weir: --from clicks=${topic},searches=${topic}: topic '${topic}' is given to sources 'clicks' and 'searches'; each topic is read by one source\n`)
  })
})
