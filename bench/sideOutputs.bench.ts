import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Report } from './util.ts'

const N = 2_000_000
const FIXTURE = 'cli/fixtures/flightDelays.ts'
const root = fileURLToPath(new URL('..', import.meta.url))

/** A log of `n` lines: flights the fixture accepts, or lines its codec rejects (each a dead letter). */
async function writeLog(path: string, n: number, bad: boolean): Promise<void> {
  const out = createWriteStream(path)
  for (let i = 1; i <= n; i++) {
    const event = bad ? `{"id":"f${i}","scheduled":${i},"delay":0,"origin":"SFO"}` : `{"id":${i},"scheduled":${i},"delay":0,"origin":"SFO"}`
    if (!out.write(`{"arrival":${1_700_000_000_000 + i},"event":${event}}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** `weir run` exits 1 when every record read was a dead letter (the input is not what the pipeline reads). */
const allRejected = 1

/**
 * Peak RSS of `weir run` over a log, and the heap it still holds after a full collection at the
 * end, in a fresh process (so one run's heap does not colour the next).
 */
function cliMemory(args: readonly string[], expectedCode = 0): { readonly maxRssMiB: number; readonly retainedMiB: number } {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'bench/fixtures/cliPeakRss.ts'), 'run', FIXTURE, ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  })
  const line = child.stdout.trim().split('\n').at(-1) ?? ''
  const r = JSON.parse(line) as { code: number; maxRssMiB: number; retainedMiB: number }
  if (r.code !== expectedCode) throw new Error(`sideOutputs bench: weir ${args.join(' ')} exited with ${r.code}: ${child.stderr}`)
  return r
}

/**
 * Dead letters do not grow memory: `weir run` over 2M lines that are all dead letters, against 2M
 * clean lines, each in its own process, peak RSS side by side (before: every dead letter was kept
 * with its raw line, 1.26 GB against 148 MB).
 */
export default async function (r: Report): Promise<void> {
  r.section(`side outputs: weir run over ${N / 1e6}M lines, all clean vs all dead letters (peak RSS, each in a fresh process)`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-sides-'))
  try {
    const clean = join(dir, 'clean.ndjson')
    const bad = join(dir, 'bad.ndjson')
    const quarter = join(dir, 'bad-quarter.ndjson')
    await writeLog(clean, N, false)
    await writeLog(bad, N, true)
    await writeLog(quarter, N / 4, true)
    const base = cliMemory(['--log', clean, '--out', join(dir, 'out.ndjson')])
    const dead = cliMemory(['--log', bad, '--out', join(dir, 'out2.ndjson')], allRejected)
    const deadQuarter = cliMemory(['--log', quarter, '--out', join(dir, 'out4.ndjson')], allRejected)
    const deadToFile = cliMemory(['--log', bad, '--out', join(dir, 'out3.ndjson'), '--dead-letters', join(dir, 'dead.ndjson')], allRejected)
    const fileMiB = statSync(join(dir, 'dead.ndjson')).size / 2 ** 20
    r.figure(`${N / 1e6}M clean lines: peak RSS`, base.maxRssMiB, 'MiB')
    r.figure(`${N / 1e6}M dead letters (3 shown, the rest counted): peak RSS`, dead.maxRssMiB, 'MiB')
    r.figure(`${N / 1e6}M dead letters, all to --dead-letters (${fileMiB.toFixed(0)} MiB file): peak RSS`, deadToFile.maxRssMiB, 'MiB')
    r.ratio('dead letters / clean, peak RSS', dead.maxRssMiB, base.maxRssMiB, '<= 1.5')
    r.ratio('dead letters to a file / clean, peak RSS', deadToFile.maxRssMiB, base.maxRssMiB, '<= 1.5')
    // Peak RSS also holds garbage not yet collected; what the run keeps is the heap after a full collection.
    r.figure(`heap kept after the run: ${N / 4e6}M dead letters`, deadQuarter.retainedMiB, 'MiB')
    r.figure(`heap kept after the run: ${N / 1e6}M dead letters`, dead.retainedMiB, 'MiB')
    r.ratio(`heap kept, ${N / 1e6}M / ${N / 4e6}M dead letters (flat: nothing kept per dead letter)`, dead.retainedMiB, deadQuarter.retainedMiB, '<= 1.1')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
