/**
 * The credit window between a pulled source and the asynchronous stages after it. A source takes
 * the next event only while `outstanding < highWaterMark`; an async stage holds one unit per event
 * (or block) it is still working on and releases it when done, so a slow consumer holds the
 * producer back, as a pipe or a TCP window does.
 */
export class Credit {
  private held = 0
  private waiters: Array<() => void> = []

  constructor(readonly highWaterMark: number) {
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1)
      throw new TypeError(`highWaterMark: expected a positive integer, got ${highWaterMark}`)
  }

  get outstanding(): number {
    return this.held
  }

  get available(): boolean {
    return this.held < this.highWaterMark
  }

  acquire(n = 1): void {
    this.held += n
  }

  release(n = 1): void {
    this.held -= n
    if (this.held < this.highWaterMark && this.waiters.length > 0) {
      const ws = this.waiters
      this.waiters = []
      for (const w of ws) w()
    }
  }

  /** Resolves once there is credit again (at once if there is). */
  whenAvailable(): Promise<void> {
    return this.available ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Resolves once every held unit is released (all async work finished). */
  async drained(): Promise<void> {
    while (this.held > 0) await new Promise<void>((resolve) => this.waiters.push(resolve))
  }
}
