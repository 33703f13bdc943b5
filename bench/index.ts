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

if (only !== undefined) {
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
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], {
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
