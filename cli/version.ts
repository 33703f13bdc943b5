import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * weirjs's version, from the package.json above this module: the repository's when run from the
 * sources (cli/), the installed package's when run from its build (dist/cli/).
 */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'weirjs' && typeof pkg.version === 'string') return pkg.version
    }
    const up = dirname(dir)
    if (up === dir) throw new Error("weirjs's package.json was not found above the CLI")
    dir = up
  }
}
