import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { CliIO } from './weir.ts'

/**
 * `weir run --watch`: the same run in a child process under Node's watch mode, which starts it again
 * whenever a module it loaded changes: the pipeline module and every file it imports, followed
 * through tsx. A child per run is what makes the new code load (a process keeps the modules it
 * imported). Resolves with the exit code of the watcher, once it is stopped (Ctrl-C).
 */
export function watchRun(argv: readonly string[], module: string, io: CliIO): Promise<number> {
  const bin = weirBin()
  const args = argv.filter((a) => a !== '--watch')
  io.stderr.write(`weir: watching ${module} and the files it imports; runs again on each change (Ctrl-C stops)\n`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--watch', '--watch-preserve-output', bin, ...args], { cwd: io.cwd, stdio: 'inherit', env: io.env as NodeJS.ProcessEnv })
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)))
  })
}

/** The `weir` command's script: beside the sources in a checkout, two levels up from dist/cli when installed. */
function weirBin(): string {
  for (const rel of ['../bin/weir.mjs', '../../bin/weir.mjs']) {
    const path = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new Error('cannot find bin/weir.mjs to run again under --watch')
}
