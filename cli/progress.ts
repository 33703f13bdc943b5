/** Where the progress bar draws: a terminal stream. */
export interface ProgressTarget {
  write(s: string): unknown
  readonly columns?: number
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

/**
 * One frame of the progress bar: `[#####.....]   45%  123,456 events  812,000 events/s`, the bar
 * sized to fit `columns`.
 *
 * @example
 * renderProgress(0.5, 1000, 2000, 80) // '[###############...............]   50%  1,000 events  2,000 events/s'
 */
export function renderProgress(fraction: number, events: number, perSecond: number, columns = 80): string {
  const f = Math.min(1, Math.max(0, fraction))
  const tail = `${String(Math.floor(f * 100)).padStart(3)}%  ${fmt(events)} events  ${fmt(perSecond)} events/s`
  const width = Math.max(10, Math.min(30, columns - tail.length - 5))
  const done = Math.round(f * width)
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]  ${tail}`
}

/**
 * A progress bar on a terminal, redrawn in place at most every `everyMs` of real time, so that a
 * fast replay does not spend its time drawing.
 */
export class ProgressBar {
  private last = Number.NEGATIVE_INFINITY
  private drawn = false
  private readonly started = performance.now()

  constructor(
    private readonly target: ProgressTarget,
    private readonly total: number,
    private readonly everyMs = 100,
  ) {}

  /** Redraws if enough time has passed since the last frame. */
  update(done: number, events: number): void {
    const now = performance.now()
    if (now - this.last < this.everyMs) return
    this.last = now
    const perSecond = now > this.started ? (events * 1000) / (now - this.started) : 0
    const fraction = this.total > 0 ? done / this.total : 0
    this.target.write(`\r${renderProgress(fraction, events, perSecond, this.target.columns)}\x1b[K`)
    this.drawn = true
  }

  /** Erases the bar, leaving the cursor at the start of an empty line. */
  clear(): void {
    if (this.drawn) this.target.write('\r\x1b[K')
    this.drawn = false
  }
}
