/** Tiny benchmark helpers: every figure is measured in the same run as its baseline. */

export interface Report {
  /** Prints a section header. */
  section(title: string): void
  /** Prints one measured figure. */
  figure(name: string, value: number, unit: string): void
  /** Prints `name: a / b = ratio` (how many times slower `a` is than the baseline `b`). */
  ratio(name: string, value: number, baseline: number, goal?: string): void
}

export const report: Report = {
  section: (title) => console.log(`\n## ${title}`),
  figure: (name, value, unit) => console.log(`  ${name.padEnd(58)} ${fmt(value).padStart(14)} ${unit}`),
  ratio: (name, value, baseline, goal) =>
    console.log(`  ${name.padEnd(58)} ${(value / baseline).toFixed(2).padStart(14)} x${goal ? `   (goal ${goal})` : ''}`),
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
 * Wall time in ms of each contender, the best of `rounds`, measured in turns (a, b, c, a, b, c, ...)
 * after one warm-up each: on a shared machine the speed drifts over seconds, and contenders timed
 * one after the other would see different machines. Their ratios move far less this way.
 */
export async function timeInTurns<K extends string>(contenders: Record<K, () => unknown>, rounds = 3): Promise<Record<K, number>> {
  const names = Object.keys(contenders) as K[]
  const best = {} as Record<K, number>
  for (const k of names) {
    await contenders[k]()
    best[k] = Number.POSITIVE_INFINITY
  }
  for (let r = 0; r < rounds; r++)
    for (const k of names) {
      const t0 = performance.now()
      await contenders[k]()
      best[k] = Math.min(best[k], performance.now() - t0)
    }
  return best
}

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
