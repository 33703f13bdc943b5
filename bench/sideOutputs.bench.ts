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

/** Peak RSS of `weir run` over a log, in a fresh process (so one run's heap does not colour the next). */
function cliPeakRss(args: readonly string[]): number {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/fixtures/cliPeakRss.ts'), 'run', FIXTURE, ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  })
  const line = child.stdout.trim().split('\n').at(-1) ?? ''
  const r = JSON.parse(line) as { code: number; maxRssMiB: number }
  if (r.code !== 0) throw new Error(`sideOutputs bench: weir exited with ${r.code}: ${child.stderr}`)
  return r.maxRssMiB
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
    const base = cliPeakRss(['--log', clean, '--out', join(dir, 'out.ndjson')])
    const dead = cliPeakRss(['--log', bad, '--out', join(dir, 'out2.ndjson')])
    const deadQuarter = cliPeakRss(['--log', quarter, '--out', join(dir, 'out4.ndjson')])
    const deadToFile = cliPeakRss(['--log', bad, '--out', join(dir, 'out3.ndjson'), '--dead-letters', join(dir, 'dead.ndjson')])
    r.figure(`${N / 1e6}M clean lines: peak RSS`, base, 'MiB')
    r.figure(`${N / 1e6}M dead letters (3 shown, the rest counted): peak RSS`, dead, 'MiB')
    r.figure(`${N / 1e6}M dead letters, all to --dead-letters (${(statSync(join(dir, 'dead.ndjson')).size / 2 ** 20).toFixed(0)} MiB file): peak RSS`, deadToFile, 'MiB')
    r.figure(`${N / 4e6}M dead letters: peak RSS`, deadQuarter, 'MiB')
    r.ratio('dead letters / clean, peak RSS', dead, base, '<= 1.5')
    r.ratio(`${N / 1e6}M dead letters / ${N / 4e6}M dead letters, peak RSS (flat: memory does not grow with them)`, dead, deadQuarter, '<= 1.2')
    r.ratio('dead letters to a file / clean, peak RSS', deadToFile, base, '<= 1.5')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
