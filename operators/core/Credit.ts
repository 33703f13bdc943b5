/** How many units an output holds: a block (an array, from `microbatch`) counts its events. */
export const creditWeight = (o: unknown): number => (Array.isArray(o) ? Math.max(1, o.length) : 1)

/**
 * The credit window between a pulled source and the asynchronous stages after it. A source takes
 * the next event only while `available`: fewer than `highWaterMark` units held and nobody paused
 * it. An async stage holds one unit per event (a block counts its events) that it is still working
 * on and releases it when done, so a slow consumer holds the producer back, as a pipe or a TCP
 * window does. A full `buffer` in `'block'` mode pauses the source outright.
 */
export class Credit {
  private held = 0
  private pausers = 0
  /**
   * Set by a stage that can pause the source (a `buffer` in `'block'` mode). A source that sends
   * records in batches then sends them one at a time, checking between records, as a pause asks.
   */
  mayPause = false
  private waiters: Array<() => void> = []

  constructor(readonly highWaterMark: number) {
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1)
      throw new TypeError(`highWaterMark: expected a positive integer, got ${highWaterMark}`)
  }

  /** Units held by async stages right now. */
  get outstanding(): number {
    return this.held
  }

  /** May the source push another event? */
  get available(): boolean {
    return this.held < this.highWaterMark && this.pausers === 0
  }

  /** May a buffer hand another event to the async stages after it? (Ignores pauses.) */
  get downstreamReady(): boolean {
    return this.held < this.highWaterMark
  }

  acquire(n = 1): void {
    this.held += n
  }

  release(n = 1): void {
    this.held -= n
    this.wake()
  }

  pause(): void {
    this.pausers++
  }

  resume(): void {
    this.pausers--
    this.wake()
  }

  /** Resolves at the next release or resume (callers re-check their condition). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Resolves once the source may push again (at once if it may). */
  async whenAvailable(): Promise<void> {
    while (!this.available) await this.changed()
  }

  /** Resolves once every held unit is released (all async work finished). */
  async drained(): Promise<void> {
    while (this.held > 0) await this.changed()
  }

  private wake(): void {
    if (this.waiters.length === 0) return
    const ws = this.waiters
    this.waiters = []
    for (const w of ws) w()
  }
}
