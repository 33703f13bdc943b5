/**
 * Fuzz suite of hostile input: logs mixing events nested thousands of levels deep, lines over a small
 * `maxLineBytes` (some split across many chunks), control bytes, bytes that are not UTF-8, huge and
 * NaN-ish numbers, keys named `__proto__` / `constructor`, bad offsets and plain garbage. For
 * `replay`, `run` and the `weir` CLI (in-process, plus a few spawned runs: they are slow): nothing
 * crashes, the exit code is the documented one, and for 1:1 pipelines every record is accounted
 * for: out + late + dead letters + skipped = in, with `in` every non-blank line. Fixed seeds.
 */
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as t from 'io-ts'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from '../dsl/pipeline.ts'
import { map } from '../dsl/stages.ts'
import { table } from '../dsl/tables.ts'
import type { Change } from '../dsl/change.ts'
import type { Stream } from '../dsl/stream.ts'
import { replay } from '../harness/replay.ts'
import { run } from '../harness/run.ts'
import { fromLog } from '../connectors/sources.ts'
import type { RunMetrics } from '../harness/result.ts'
import { main, type CliIO } from '../cli/weir.ts'

const SEED = 12_012
/** Above the deepest event's line (9,000 levels: 18 KB), so that those are read, and below the long ones. */
const MAX_LINE = 24_000
const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'weir-hostile-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Deep nesting, as arrays or objects: the depth that overflowed the codec's report and JSON.stringify. */
const deep = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 6_000, max: 9_000 })), fc.boolean()).map(([d, arrays]) => (arrays ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d)))
const hostileNumber = fc.constantFrom('1e308', '-1e308', '1e400', '-0', '5e-324', '9007199254740993', '123456789012345678901234567890')
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '')
/** JSON text of an event: plain, deep, numeric extremes, prototype-named keys, escaped control characters. */
const hostileEvent: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  deep,
  hostileNumber,
  fc.tuple(hostileKey, hostileNumber).map(([k, n]) => `{${JSON.stringify(k)}:${n},"id":1,"tag":"x"}`),
  fc.tuple(hostileKey, deep).map(([k, d]) => `{"id":2,"tag":${d},${JSON.stringify(k)}:{"polluted":true}}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify({ id: 3, tag: s })),
  fc.integer({ min: MAX_LINE - 40, max: MAX_LINE * 3 }).map((n) => JSON.stringify({ id: 4, tag: 'x'.repeat(n) })),
)
const badOffset = fc.constantFrom('1e308', '"7"', '-1', '2.5', 'null', '9007199254740992', '[]')
/** One line's bytes (never a newline inside). */
const hostileLine: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 10_000 }), hostileEvent).map(([a, e]) => Buffer.from(`{"arrival":${a},"event":${e}}`)),
  fc.tuple(fc.integer({ min: 0, max: 10_000 }), badOffset, hostileEvent).map(([a, o, e]) => Buffer.from(`{"offset":${o},"arrival":${a},"event":${e}}`)),
  fc.tuple(hostileNumber, hostileEvent).map(([a, e]) => Buffer.from(`{"arrival":${a},"event":${e}}`)),
  // Bytes that are not UTF-8 inside a string, or anywhere: decoded as U+FFFD, never a crash.
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.concat([Buffer.from('{"arrival":1,"event":"'), Buffer.from(b.map((x) => (x === 10 || x === 34 || x === 92 ? 0xff : x))), Buffer.from('"}')])),
  fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => Buffer.from(b.map((x) => (x === 10 ? 0x1b : x)))),
  fc.constantFrom('{oops', '\u001b[2J\u001b[H', 'null', '[]', '{"arrival":1}', '{"event":1}').map((s) => Buffer.from(s)),
  fc.constant(Buffer.alloc(0)),
)
const hostileLog = fc.array(hostileLine, { minLength: 1, maxLength: 25 })

/** The lines `readLog` counts as records: all but blank ones (a blank line is skipped, as NDJSON allows). */
const nonBlank = (lines: readonly Buffer[]): number => lines.filter((l) => l.toString('utf8').trim() !== '' || l.length > MAX_LINE).length
const writeLog = (lines: readonly Buffer[], name: string): string => {
  const path = join(dir, name)
  writeFileSync(path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])))
  return path
}
const accounted = (m: RunMetrics, lines: readonly Buffer[]) => {
  expect(m.eventsOut + m.late + m.deadLetters + m.skipped).toBe(m.eventsIn)
  expect(m.eventsIn).toBe(nonBlank(lines))
}

/** 1:1 pipelines: every event as it is (no codec), and a codec whose report walks the bad value. */
const passthrough = pipeline({ name: 'passthrough' }, (s: Stream<unknown>) => pipe(s, map((e: unknown) => e)))
const Tagged = t.type({ id: t.number, tag: t.string })
const coded = pipeline({ name: 'coded', codec: Tagged }, (s) => pipe(s, map((e) => ({ id: e.id, n: e.tag.length }))))

describe('hostile logs: replay and run', () => {
  it('replay and run never fail, and account for every line (passthrough and codec pipelines, files read in small chunks)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileLog, fc.integer({ min: 7, max: 4096 }), async (lines, chunkSize) => {
        const path = writeLog(lines, 'log.ndjson')
        for (const p of [passthrough, coded] as const) {
          const r = await replay(p as typeof passthrough, path, { chunkSize, maxLineBytes: MAX_LINE })
          accounted(r.metrics, lines)
          const live = await run(p as typeof passthrough, fromLog(path, { maxLineBytes: MAX_LINE }))
          accounted(live.metrics, lines)
          expect(live.metrics.eventsOut).toBe(r.metrics.eventsOut)
        }
        // Nothing the log said reached Object.prototype.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { seed: SEED, numRuns: 40 },
    )
  })

  it('a table fed changes with hostile offsets never fails: each bad offset is a dead letter, the others apply', async () => {
    const offsets = fc.oneof(fc.nat({ max: 50 }), fc.constantFrom<unknown>(1e308, '7', -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, null, undefined))
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b', '__proto__', 'constructor'), offsets), { maxLength: 30 }), async (changes) => {
        const events = changes.map(([key, offset], i) => ({ op: 'upsert', key, after: i, ...(offset === undefined ? {} : { offset }) }))
        const p = pipeline({ name: 'table' }, (s: Stream<Change<string, number>>) => pipe(s, table()))
        const r = await run(p, events as Change<string, number>[])
        const bad = changes.filter(([, o]) => o !== undefined && !(typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)).length
        expect(r.deadLetters).toHaveLength(bad)
        expect(r.metrics.eventsIn).toBe(changes.length)
      }),
      { seed: SEED, numRuns: 100 },
    )
  })
})

/** `weir run <module> --log <path> --max-line-bytes MAX_LINE`: exit code, stdout lines and stderr. */
async function cliInProcess(module: string, path: string, extra: string[] = []) {
  let stdout = ''
  let stderr = ''
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: root, env: {} }
  const code = await main(['run', module, '--log', path, '--max-line-bytes', String(MAX_LINE), ...extra], io)
  return { code, stdout, stderr }
}

/**
 * Checks a CLI run: exit 0 (or 1, as documented, when every record was rejected at the source), one-line
 * messages only, no raw control character, and the counts add up; returns the dead letters and late events.
 */
function checkCli(r: { code: number | null; stdout: string; stderr: string }, lines: readonly Buffer[]): number {
  const err = r.stderr.trimEnd().split('\n')
  for (const l of err) expect(l).toMatch(/^weir: /)
  expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
  const everyRejected = err.at(-1)!.startsWith('weir: failed: every one of the ')
  const summary = err.at(everyRejected ? -2 : -1)!
  const m = /(\d[\d,]*) events? in, (\d[\d,]*) out, (\d[\d,]*) dead letters?, (\d[\d,]*) late/.exec(summary)
  expect(m, summary).not.toBeNull()
  const [eventsIn, out, dead, late] = m!.slice(1).map((x) => Number(x.replaceAll(',', '')))
  expect(r.code, r.stderr).toBe(everyRejected ? 1 : 0)
  if (everyRejected) expect(dead).toBe(eventsIn)
  expect(out + dead + late).toBe(eventsIn)
  expect(eventsIn).toBe(nonBlank(lines))
  expect(r.stdout === '' ? 0 : r.stdout.trimEnd().split('\n').length).toBe(out)
  return dead + late
}

describe('hostile logs: the weir CLI', () => {
  it('in-process: the documented exit code, one escaped line per message, and every line accounted for; with --fail-fast, exit 1 and one line iff anything was refused', async () => {
    await fc.assert(
      fc.asyncProperty(hostileLog, async (lines) => {
        const path = writeLog(lines, 'cli.ndjson')
        const refused = checkCli(await cliInProcess('cli/fixtures/passthrough.ts', path), lines)
        const ff = await cliInProcess('cli/fixtures/passthrough.ts', path, ['--fail-fast'])
        expect(ff.code).toBe(refused > 0 ? 1 : 0)
        if (refused > 0) expect(ff.stderr).toMatch(/^weir: failed fast: [^\n]*\n$/)
        expect(ff.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)
      }),
      { seed: SEED, numRuns: 25 },
    )
  })

  it('spawned (a few cases): the real process neither crashes nor hangs', async () => {
    const cases = fc.sample(hostileLog, { seed: SEED, numRuns: 2 })
    // One log of everything at once, as well: every kind of hostile line in one run.
    cases.push(fc.sample(hostileLine, { seed: SEED + 1, numRuns: 60 }))
    for (const [i, lines] of cases.entries()) {
      const path = writeLog(lines, `spawned-${i}.ndjson`)
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [join(root, 'bin', 'weir.mjs'), 'run', 'cli/fixtures/passthrough.ts', '--log', path, '--max-line-bytes', String(MAX_LINE)], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
        child.on('error', reject)
        child.on('close', (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
      })
      checkCli(r, lines)
    }
  }, 120_000)
})
