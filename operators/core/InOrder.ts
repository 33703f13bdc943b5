import type { Data } from '../../dsl/element.ts'
import { creditWeight, type Credit } from './Credit.ts'

const PENDING = 0
const OK = 1
const FAILED = 2

/** A queued input: an event waiting for its async result, or a watermark waiting for the events before it. */
export interface Slot {
  readonly d: Data<unknown, unknown> | undefined
  /** A watermark's time; for an event, the credit units it holds. */
  readonly w: number
  state: 0 | 1 | 2
  result: unknown
}

/** Where `InOrder` releases what is ready, in arrival order. */
export interface InOrderOutput {
  ok(d: Data<unknown, unknown>, result: unknown): void
  failed(d: Data<unknown, unknown>, error: unknown): void
  watermark(w: number): void
  /** The input has ended and everything queued has left. */
  complete(): void
}

/**
 * The arrival-order queue behind async stages (`asyncMap`, `lookupJoin`): results may complete in
 * any order but leave in the order their inputs came, and a watermark leaves only after every
 * event before it, so it never overtakes a pending result. Each queued event holds one unit of the
 * source's credit until it leaves: a slow async stage slows the source instead of queueing
 * without bound.
 */
export class InOrder {
  private readonly slots: Slot[] = []
  private head = 0
  private ended = false
  private completed = false

  constructor(
    private readonly credit: Credit,
    private readonly out: InOrderOutput,
  ) {}

  /** Nothing is waiting: a ready value may go straight out. */
  get empty(): boolean {
    return this.head === this.slots.length
  }

  /** Queues an event; settle its slot with `succeed` or `fail`. */
  event(d: Data<unknown, unknown>): Slot {
    // A block (microbatch's array) holds a unit per event it carries, as in the sink.
    const w = creditWeight(d.value)
    this.credit.acquire(w)
    const s: Slot = { d, w, state: PENDING, result: undefined }
    this.slots.push(s)
    return s
  }

  /** Passes a watermark on now if nothing waits, else queues it behind the events before it. */
  watermark(w: number): void {
    if (this.empty) this.out.watermark(w)
    else this.slots.push({ d: undefined, w, state: OK, result: undefined })
  }

  succeed(s: Slot, result: unknown): void {
    s.state = OK
    s.result = result
  }

  fail(s: Slot, error: unknown): void {
    s.state = FAILED
    s.result = error
  }

  /** The input has ended: completes once everything queued has left. */
  end(): void {
    this.ended = true
    this.flush()
  }

  /** Releases, in order, everything up to the first event still pending. */
  flush(): void {
    const slots = this.slots
    while (this.head < slots.length) {
      const s = slots[this.head]
      if (s.state === PENDING) break
      slots[this.head++] = undefined as unknown as Slot
      if (s.d === undefined) this.out.watermark(s.w)
      else {
        this.credit.release(s.w)
        if (s.state === OK) this.out.ok(s.d, s.result)
        else this.out.failed(s.d, s.result)
      }
    }
    // Compact now and then so the array does not grow with the run.
    if (this.head === slots.length) {
      slots.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > slots.length) {
      slots.splice(0, this.head)
      this.head = 0
    }
    if (this.ended && !this.completed && this.empty) {
      this.completed = true
      this.out.complete()
    }
  }

  /** Gives back the credit of events that never left (teardown), so a cancelled run does not starve the source. */
  dispose(): void {
    for (let i = this.head; i < this.slots.length; i++) if (this.slots[i].d !== undefined) this.credit.release(this.slots[i].w)
    this.slots.length = 0
    this.head = 0
  }
}
