import type { DeadLetter } from '../dsl/sides.ts'
import type { Credit } from '../operators/core/Credit.ts'
import type { VirtualClock } from './VirtualClock.ts'
import { Unacknowledged, type Feeder } from './feeders.ts'
import { isDeadLetter, type LogEntry, type LogRecord } from './log.ts'
import { routeTo } from '../dsl/sources.ts'

/** Where a `VirtualLogFeeder` sends what it reads (see `replay`). */
export interface VirtualIntake {
  /** A record, once the clock is at its arrival; `event` is its event, routed to its source's name in a multi-source pipeline. */
  record(e: LogRecord, event: unknown): void
  /** A malformed line: a dead letter, before or after the pipeline has started. */
  reject(d: DeadLetter): void
  /** A record of another topic (or one no source of a multi-source pipeline reads), left out and counted as skipped. */
  skip(): void
  /** A batch of the log has been read and sent. */
  progress(): void
  /** Log offsets at which states are still to be read, ascending (emptied as they are read). */
  readonly inspecting: readonly number[]
  /** Reads the states asked for below offset `before`, once async work has landed. */
  inspectBelow(before: number): Promise<void>
}

/**
 * A recorded log in virtual time, read by `run`'s loop (`runLoop`) for `replay`: before each record
 * goes in, async work started for earlier ones lands (async stages take no virtual time) and the
 * clock advances to the record's arrival, firing every timer due by then. It reads one record ahead
 * (`first`, then after each record sent), so a malformed line or a record of another topic is
 * handled as soon as the record before it has gone in, in log order.
 */
export class VirtualLogFeeder extends Unacknowledged implements Feeder {
  private batch: readonly LogEntry[] | undefined
  private i = 0
  /** The record to send next; undefined at the end of the log. */
  private head: LogRecord | undefined
  /** Its event as sent in: routed to its source in a multi-source pipeline. */
  private headEvent: unknown
  private clock: VirtualClock | undefined

  constructor(
    private readonly reader: AsyncIterator<readonly LogEntry[]>,
    private readonly topic: string | undefined,
    private readonly to: VirtualIntake,
    /** The run's output (its collector): once settled, completed or failed, nothing more goes in. */
    private readonly output: { readonly settled: boolean },
    /** A multi-source pipeline's source names: each record goes to the source its topic names (see `routeTo`). */
    private readonly sources?: ReadonlySet<string>,
  ) {
    super()
  }

  /** Reads up to the first record (rejecting malformed lines before it) and returns it: its arrival may start the clock. */
  async first(): Promise<LogRecord | undefined> {
    await this.scan(undefined)
    return this.head
  }

  /** The clock the records advance, once the pipeline has started on it. */
  runOn(clock: VirtualClock): void {
    this.clock = clock
  }

  async resume(): Promise<void> {
    throw new TypeError('replay: a log replayed in virtual time restores no checkpoint')
  }

  ready(): boolean {
    return this.head !== undefined
  }

  feed(credit: Credit): boolean | Promise<boolean> {
    const e = this.head!
    const inspecting = this.to.inspecting
    // Awaited only when there is something to wait for: an await per record would slow every replay down.
    if (credit.outstanding > 0 || !credit.available || (inspecting.length > 0 && inspecting[0] < e.offset)) return this.feedAfterWaiting(credit)
    this.send(e)
    return this.scan(credit)
  }

  private async feedAfterWaiting(credit: Credit): Promise<boolean> {
    const e = this.head!
    // What async stages started for earlier records lands before the clock moves on, so their
    // results reach time-based stages (microbatch, idle timeouts) at their record's arrival.
    if (credit.outstanding > 0) await credit.drained()
    // A blocking buffer may have paused the source with no credit held.
    if (!credit.available) await credit.whenAvailable()
    const inspecting = this.to.inspecting
    if (inspecting.length > 0 && inspecting[0] < e.offset) await this.to.inspectBelow(e.offset)
    this.send(e)
    return this.scan(credit)
  }

  private send(e: LogRecord): void {
    this.clock!.advanceTo(e.arrival)
    this.consumed++
    this.to.record(e, this.headEvent)
  }

  /**
   * Moves `head` to the next record, handling malformed lines and other topics on the way; false at
   * the end of the log. With `credit`, it goes on sending the records of the batch read while none
   * has to wait, checking before each what the loop and `feed` check (a run settled, credit, a state
   * to read), and leaves the first that must wait to the loop. One record per `feed` would cost an
   * in-memory replay a quarter of its speed.
   */
  private scan(credit: Credit | undefined): boolean | Promise<boolean> {
    const { to, topic, output } = this
    const batch = this.batch
    if (batch !== undefined) {
      const inspecting = to.inspecting
      while (this.i < batch.length) {
        const e = batch[this.i++]
        if (isDeadLetter(e)) {
          this.consumed++
          to.reject(e)
          continue
        }
        if (topic !== undefined && e.topic !== topic) {
          to.skip()
          continue
        }
        let event = e.event
        if (this.sources !== undefined) {
          const routed = routeTo(this.sources, e.topic, event, e.offset)
          if (routed === undefined) {
            to.skip()
            continue
          }
          if (isDeadLetter(routed)) {
            this.consumed++
            to.reject(routed)
            continue
          }
          event = routed
        }
        this.head = e
        this.headEvent = event
        if (credit === undefined || output.settled || credit.outstanding > 0 || !credit.available || (inspecting.length > 0 && inspecting[0] < e.offset))
          return true
        this.send(e)
      }
      to.progress()
    }
    return this.reader.next().then((r) => {
      if (r.done === true) {
        this.head = undefined
        return false
      }
      this.batch = r.value
      this.i = 0
      return this.scan(undefined)
    })
  }

  async close(): Promise<void> {
    await this.reader.return?.()
  }
}
