import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import { report, type Report } from './util.ts'

/**
 * Runs every `bench/*.bench.ts` (or those whose name contains an argument):
 * `npm run bench`, `npm run bench -- windows`.
 */
const here = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()

console.log(`weir bench — node ${process.version}, ${new Date().toISOString()}`)
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: (r: Report) => Promise<void> }
  await mod.default(report)
}
