import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Tiny benchmark helpers: every figure is measured in the same run as its baseline. */

export interface Report {
  /** Prints a section header. */
  section(title: string): void
  /** Prints one measured figure. */
  figure(name: string, value: number, unit: string): void
  /** Prints `name: a / b = ratio` (how many times slower `a` is than the baseline `b`). */
  ratio(name: string, value: number, baseline: number, goal?: string): void
  /** Prints the median of ratios measured round by round (see `pairedRatios`), with their range. */
  ratios(name: string, ratios: readonly number[], goal?: string): void
}

export const report: Report = {
  section: (title) => console.log(`\n## ${title}`),
  figure: (name, value, unit) => console.log(`  ${name.padEnd(58)} ${fmt(value).padStart(14)} ${unit}`),
  ratio: (name, value, baseline, goal) =>
    console.log(`  ${name.padEnd(58)} ${(value / baseline).toFixed(2).padStart(14)} x${goal ? `   (goal ${goal})` : ''}`),
  ratios: (name, rs, goal) => {
    const sorted = [...rs].sort((a, b) => a - b)
    const range = `${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)} in ${rs.length} rounds`
    console.log(`  ${name.padEnd(58)} ${median(sorted).toFixed(2).padStart(14)} x   (${range}${goal ? `; goal ${goal}` : ''})`)
  },
}

const median = (sorted: readonly number[]): number => {
  const m = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
}

const fmt = (n: number): string =>
  Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(Math.abs(n) >= 10 ? 1 : 3)

/** Wall time of `fn` in ms: the best of `runs` after one warm-up (best-of damps a noisy, shared machine). */
export async function timeBest(fn: () => unknown, runs = 5): Promise<number> {
  await fn()
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    best = Math.min(best, performance.now() - t0)
  }
  return best
}

/**
 * Wall times in ms of each contender of `file` (its exported `contenders`, each a function of the
 * number of events), every round, each run in a fresh process of its own, in turns (a, b, c, a, b,
 * c, ...). No contender inherits another's heap, garbage or JIT feedback, as no user's job would,
 * and on a shared machine whose speed drifts over seconds, each round's contenders run close together.
 * `clock: 'cpu'` gives each run's CPU time (all its threads, the collector's included) instead of wall
 * time: a run descheduled by other work on a loaded machine is not charged for the wait.
 */
export function timeInProcesses<K extends string>(
  file: string,
  names: readonly K[],
  n: number,
  rounds = 5,
  clock: 'wall' | 'cpu' = 'wall',
): Record<K, number[]> {
  const index = fileURLToPath(new URL('./index.ts', import.meta.url))
  const times = {} as Record<K, number[]>
  for (const k of names) times[k] = []
  for (let r = 0; r < rounds; r++)
    for (const k of names) {
      const child = spawnSync(process.execPath, ['--expose-gc', '--conditions=weir-source', '--import', 'tsx', index], {
        encoding: 'utf8',
        env: { ...process.env, WEIR_BENCH_FILE: file, WEIR_BENCH_CONTENDER: k, WEIR_BENCH_N: String(n) },
      })
      const last = child.stdout.trim().split('\n').at(-1) ?? ''
      if (child.status !== 0 || !last.startsWith('{')) throw new Error(`bench contender ${k} failed: ${child.stderr || child.stdout}`)
      const t = JSON.parse(last) as { ms: number; cpuMs: number }
      times[k].push(clock === 'cpu' ? t.cpuMs : t.ms)
    }
  // WEIR_BENCH_ROUNDS=1 prints every round's times, to see how much a figure moves within one run.
  if (process.env.WEIR_BENCH_ROUNDS) for (const k of names) console.log(`    ${k}: ${times[k].map((t) => t.toFixed(0)).join(' ')} ms`)
  return times
}

/** The best (least) of a contender's round times: its figure on the machine's quietest moment. */
export const best = (times: readonly number[]): number => Math.min(...times)

/**
 * `a[r] / b[r]` for every round `r` of `timeInProcesses`: the two ran next to each other, so each ratio
 * compares them on the same machine, where ratios of their best times may pair a quiet moment of
 * one with a busy moment of the other.
 */
export const pairedRatios = (a: readonly number[], b: readonly number[]): number[] => a.map((x, r) => x / b[r])

/** Samples RSS and heap while `fn` runs; returns the peaks in MiB. */
export async function peakMemory<T>(fn: () => Promise<T>, everyMs = 20): Promise<{ result: T; rssMiB: number; heapMiB: number }> {
  let rss = 0
  let heap = 0
  const sample = () => {
    const m = process.memoryUsage()
    rss = Math.max(rss, m.rss)
    heap = Math.max(heap, m.heapUsed)
  }
  const timer = setInterval(sample, everyMs)
  try {
    const result = await fn()
    sample()
    return { result, rssMiB: rss / 2 ** 20, heapMiB: heap / 2 ** 20 }
  } finally {
    clearInterval(timer)
  }
}

/** Runs a garbage collection when node was started with --expose-gc (the bench script does). */
export const gc = (): void => (globalThis as { gc?: () => void }).gc?.()
