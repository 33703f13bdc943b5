import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import { report, type Report } from './util.ts'

/**
 * Runs every `bench/*.bench.ts` (or those whose name contains an argument):
 * `npm run bench`, `npm run bench -- windows`. Each file runs in a fresh process, so one file's
 * heap and JIT state do not colour the next one's figures (peak memory above all).
 */
const here = dirname(fileURLToPath(import.meta.url))
const only = process.env.WEIR_BENCH_FILE

const contender = process.env.WEIR_BENCH_CONTENDER

if (only !== undefined && contender !== undefined) {
  // One contender of a file's `contenders`, alone in this process (see `timeInProcesses`): a warm-up
  // on 1M events (or WEIR_BENCH_N if fewer), then one timed run on WEIR_BENCH_N, printed as JSON (wall and CPU time).
  // A contender may be async (a `run` of the harness): it is timed until it settles.
  const mod = (await import(pathToFileURL(join(here, only)).href)) as { contenders: Record<string, (n: number) => unknown> }
  const run = mod.contenders[contender]
  const n = Number(process.env.WEIR_BENCH_N)
  await run(Math.min(n, 1_000_000))
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  await run(n)
  const c = process.cpuUsage(c0)
  console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }))
} else if (only !== undefined) {
  const mod = (await import(pathToFileURL(join(here, only)).href)) as { default: (r: Report) => Promise<void> }
  await mod.default(report)
} else {
  const filters = process.argv.slice(2)
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort()
  console.log(`weir bench — node ${process.version}, ${new Date().toISOString()}`)
  let failed = 0
  for (const f of files) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--conditions=weir-source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, WEIR_BENCH_FILE: f },
    })
    if (r.status !== 0) {
      failed++
      console.log(`  ${f} failed (exit ${r.status})`)
    }
  }
  process.exitCode = failed > 0 ? 1 : 0
}
