/**
 * `weir` as a child process, for the tests that run members of a group as real processes (to
 * SIGKILL, SIGSTOP and restart them): what it writes on stderr is kept, to read in assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../bin/weir.mjs', import.meta.url))

export type WeirProcess = ChildProcess & { readonly err: () => string }

/** Starts `weir <args>`, its stdout discarded and its stderr kept (`err()`). */
export function spawnWeir(args: readonly string[]): WeirProcess {
  const c = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  c.stderr!.on('data', (d) => (err += d))
  return Object.assign(c, { err: () => err })
}

/** How a child process ended (at once if it already has). */
export const exited = (c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  new Promise((resolve) =>
    c.exitCode !== null || c.signalCode !== null ? resolve({ code: c.exitCode, signal: c.signalCode }) : c.once('exit', (code, signal) => resolve({ code, signal })),
  )

/** Runs `weir <args>` to its end: its exit and its stderr. */
export async function runWeir(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const c = spawnWeir(args)
  return { ...(await exited(c)), err: c.err() }
}
