/**
 * A small mutation check: applies boundary mutants to the operators one at a time (an exact
 * snippet replaced by another), runs the test files that should notice, and counts the mutants
 * the tests kill (a test run that fails). Each file is restored after its mutant, on an error and
 * on Ctrl-C too. A snippet no longer found (or found twice) stops the check: update the list.
 *
 *   npm run mutants                # every mutant
 *   npm run mutants -- session     # only mutants whose name contains "session"
 *
 * Not part of `npm test` (one to two minutes); docs/testing.md records the last measured result.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

interface Mutant {
  readonly name: string
  readonly file: string
  readonly from: string
  readonly to: string
  /** The test files expected to fail under it. */
  readonly tests: readonly string[]
}

const WINDOW_JOIN = ['operators/joins/windowJoin.test.ts']
const TUMBLING = ['operators/windows/tumbling.test.ts']
const SESSION = ['operators/windows/session.test.ts']

const MUTANTS: readonly Mutant[] = [
  {
    name: 'windowJoin: an event at time == W is late (time <= W)',
    file: 'operators/joins/windowJoin.ts',
    from: 'if (time < w) {',
    to: 'if (time <= w) {',
    tests: WINDOW_JOIN,
  },
  {
    name: 'windowJoin: an entry at time == W - within is evicted',
    file: 'operators/joins/windowJoin.ts',
    from: 'while (heap.peek() < horizon) {',
    to: 'while (heap.peek() <= horizon) {',
    tests: WINDOW_JOIN,
  },
  {
    name: 'windowJoin: |dt| == within does not pair',
    file: 'operators/joins/windowJoin.ts',
    from: 'if (dt > within || dt < -within) continue',
    to: 'if (dt >= within || dt <= -within) continue',
    tests: WINDOW_JOIN,
  },
  {
    name: 'windowJoin: |dt| == within + 1 pairs',
    file: 'operators/joins/windowJoin.ts',
    from: 'if (dt > within || dt < -within) continue',
    to: 'if (dt > within + 1 || dt < -within - 1) continue',
    tests: WINDOW_JOIN,
  },
  {
    name: 'tumbling: a new window with end + L == W is opened (end + L < W is late)',
    file: 'operators/windows/tumbling.ts',
    from: 'if (end + core.L <= core.W) return false',
    to: 'if (end + core.L < core.W) return false',
    tests: TUMBLING,
  },
  {
    name: 'tumbling: a new window with end + L == W + 1 is late',
    file: 'operators/windows/tumbling.ts',
    from: 'if (end + core.L <= core.W) return false',
    to: 'if (end + core.L <= core.W + 1) return false',
    tests: TUMBLING,
  },
  {
    name: 'windows: state kept at W == end + L (freed only when W > end + L)',
    file: 'operators/windows/WindowCore.ts',
    from: 'if (freeAt > this.W) {',
    to: 'if (freeAt >= this.W) {',
    tests: [...TUMBLING, ...SESSION],
  },
  {
    name: 'windows: a window due (end <= W) is not emitted at once when touched',
    file: 'operators/windows/WindowCore.ts',
    from: '} else if (w.end <= this.W) {',
    to: '} else if (w.end < this.W) {',
    tests: TUMBLING,
  },
  {
    name: 'session: a new session with t + gap + L == W is opened',
    file: 'operators/windows/session.ts',
    from: 'if (t + gap + core.L <= core.W) return false',
    to: 'if (t + gap + core.L < core.W) return false',
    tests: SESSION,
  },
  {
    name: 'session: events exactly gap apart merge',
    file: 'operators/windows/session.ts',
    from: 'while (j < wins.length && wins[j].start < t + gap) j++',
    to: 'while (j < wins.length && wins[j].start <= t + gap) j++',
    tests: SESSION,
  },
  {
    name: 'hopping: a new window with end + L == W is opened',
    file: 'operators/windows/hopping.ts',
    from: 'return end + core.L <= core.W ? undefined',
    to: 'return end + core.L < core.W ? undefined',
    tests: ['operators/windows/hopping.test.ts'],
  },
  {
    name: 'sliding: an event opens its own window when t + 1 + L == W',
    file: 'operators/windows/sliding.ts',
    from: 'const own = t + 1 + core.L > core.W',
    to: 'const own = t + 1 + core.L >= core.W',
    tests: ['operators/windows/sliding.test.ts'],
  },
]

const root = join(import.meta.dirname, '..')

/** The file being mutated and its original text, while a mutant is applied. */
let applied: { path: string; original: string } | undefined
let child: ChildProcess | undefined

const restore = (): void => {
  if (applied === undefined) return
  writeFileSync(applied.path, applied.original)
  applied = undefined
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    if (child !== undefined) killGroup(child)
    restore()
    process.stderr.write(`\nmutants: stopped by ${signal}; every file restored\n`)
    process.exit(130)
  })

/** The text with `m` applied; throws when the snippet is missing or ambiguous. */
const mutate = (text: string, m: Mutant): string => {
  const at = text.indexOf(m.from)
  if (at < 0) throw new Error(`mutant "${m.name}": snippet not found in ${m.file}: ${m.from}`)
  if (text.indexOf(m.from, at + 1) >= 0) throw new Error(`mutant "${m.name}": snippet found more than once in ${m.file}: ${m.from}`)
  return text.slice(0, at) + m.to + text.slice(at + m.from.length)
}

/** How a test run under a mutant ended: `'timeout'` when it outlived `TIMEOUT_MS` (a mutant that loops). */
type Outcome = 'passed' | 'failed' | 'timeout'

// The files of one mutant take a few seconds; a mutant that makes a window requeue itself forever
// hangs a test synchronously, where vitest's own timeout cannot stop it.
const TIMEOUT_MS = 60_000

/**
 * Kills a test run with its workers: vitest runs tests in forked workers, and a SIGKILL of vitest
 * alone left a hung worker spinning after the script had moved on (seen: one for 55 minutes).
 */
const killGroup = (c: ChildProcess): void => {
  try {
    process.kill(-c.pid!, 'SIGKILL')
  } catch {
    c.kill('SIGKILL')
  }
}

/** Runs vitest on `files`, in a process group of its own so a hung run can be killed whole. */
const runTests = (files: readonly string[]): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--bail=1', ...files], { cwd: root, stdio: 'ignore', detached: true })
    child = c
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(c)
    }, TIMEOUT_MS)
    c.on('error', reject)
    c.on('exit', (code) => {
      clearTimeout(timer)
      child = undefined
      resolve(timedOut ? 'timeout' : code === 0 ? 'passed' : 'failed')
    })
  })

async function main(filter: string | undefined): Promise<number> {
  const chosen = MUTANTS.filter((m) => filter === undefined || m.name.includes(filter))
  // Check every snippet before changing anything.
  for (const m of chosen) mutate(readFileSync(join(root, m.file), 'utf8'), m)
  const survivors: string[] = []
  for (const m of chosen) {
    const path = join(root, m.file)
    const original = readFileSync(path, 'utf8')
    let outcome: Outcome
    const started = performance.now()
    try {
      applied = { path, original }
      writeFileSync(path, mutate(original, m))
      outcome = await runTests(m.tests)
    } finally {
      restore()
    }
    if (outcome === 'passed') survivors.push(m.name)
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    const verdict = outcome === 'passed' ? 'SURVIVED' : 'killed  '
    process.stdout.write(`${verdict}  ${m.name} (${outcome === 'timeout' ? 'tests hung, stopped after' : 'tests ran'} ${seconds} s)\n`)
  }
  process.stdout.write(`mutants: ${chosen.length - survivors.length} of ${chosen.length} killed\n`)
  return survivors.length === 0 ? 0 : 1
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    restore()
    process.stderr.write(`mutants: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(2)
  },
)
