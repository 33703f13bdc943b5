import { MinHeap } from '../core/MinHeap.ts'

/** Something waiting for the watermark: it is acted on when `W >= due`, unless `due` changed since. */
export interface Timed {
  due: number
}

/**
 * The firing queue: a binary min-heap of buckets of items, each bucket holding items due at one
 * time. Adds in a row for the same time share a bucket (every key's tumbling window of one period
 * ends on the same minute), so one heap operation serves the whole lot; an add for another time
 * starts a bucket of its own, with no lookup of earlier buckets (unless `byTime`). Two buckets for
 * one time pop in the order they were started, so items due together always come out in the order
 * they were added. A watermark that releases nothing costs one comparison, not a scan of the open
 * windows. Rescheduling an item adds it again under its new time; the old entry is skipped when popped
 * because `item.due` no longer matches (lazy deletion).
 */
export class DueQueue<T extends Timed> {
  private readonly heap = new MinHeap<T[]>()
  /** The bucket the latest add started or joined, while it is still queued, and its time. */
  private last: T[] | undefined = undefined
  private lastDue = Number.NaN
  /** With `byTime`: the latest bucket of each time still queued (see `addAt`). */
  private readonly byDue: Map<number, T[]> | undefined
  /** Starts of buckets so far: the heap's tie-breaker, so equal times pop first-started first. */
  private started = 0
  /** The earliest due time queued, NaN when empty (so no watermark, not even +Infinity, finds it due). */
  first = Number.NaN

  /**
   * `byTime`: items of many times are added in turn, each time again and again (a key's first event
   * in hopping windows opens one window per hop, and every key after it the same ones), so an add
   * joins the bucket of its time wherever it is, and the heap holds one bucket per time, not per window.
   */
  constructor(options: { readonly byTime?: boolean } = {}) {
    this.byDue = options.byTime === true ? new Map() : undefined
  }

  /** Sets `item.due` and queues it under that time. */
  add(due: number, item: T): void {
    item.due = due
    if (due === this.lastDue) this.last!.push(item)
    else this.addAt(due, item)
  }

  /**
   * Queues `item` in a new bucket, or with `byTime` in the latest bucket still queued for `due`:
   * joining only the latest of a time keeps items due together in the order they were added.
   */
  private addAt(due: number, item: T): void {
    const byDue = this.byDue
    let bucket = byDue === undefined ? undefined : byDue.get(due)
    if (bucket !== undefined) bucket.push(item)
    else {
      bucket = [item]
      if (byDue !== undefined) byDue.set(due, bucket)
      this.heap.push(due, this.started++, bucket)
      this.first = this.heap.peek()
    }
    this.last = bucket
    this.lastDue = due
  }

  /** Empties the queue (a restore replaces everything). */
  clear(): void {
    this.heap.clear()
    this.byDue?.clear()
    this.last = undefined
    this.lastDue = Number.NaN
    this.first = Number.NaN
  }

  /** True when something is queued at a time `<= w`. */
  hasDue(w: number): boolean {
    return this.first <= w
  }

  /** Removes and returns the earliest bucket, items in the order they were added (call only when something is queued). */
  pop(): T[] {
    // Adds from now on go to a new bucket: this one is being acted on.
    this.byDue?.delete(this.first)
    const b = this.heap.pop()
    if (b === this.last) {
      this.last = undefined
      this.lastDue = Number.NaN
    }
    this.first = this.heap.size > 0 ? this.heap.peek() : Number.NaN
    return b
  }

  /**
   * Every live item (whose `due` still matches its entry) once, in firing order: for snapshots. An
   * item moved away and back to the same time has two matching entries; processing skips the second
   * (its `due` has moved on by then), so it is listed once here too.
   */
  live(): T[] {
    const buckets = this.heap.entries((b) => b).sort((x, y) => x[0] - y[0] || x[1] - y[1])
    const out = new Set<T>()
    for (const [due, , bucket] of buckets) for (const item of bucket) if (item.due === due) out.add(item)
    return [...out]
  }
}
