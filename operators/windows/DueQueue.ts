import { MinHeap } from '../core/MinHeap.ts'

/** Something waiting for the watermark: it is acted on when `W >= due`, unless `due` changed since. */
export interface Timed {
  due: number
}

/**
 * The firing queue: items bucketed by due time, with a binary min-heap over the distinct due times.
 * Many windows share an end (every key's tumbling window ends on the same minute), so one heap
 * operation serves a whole bucket, and a watermark that releases nothing costs one comparison, not
 * a scan of the open windows. Rescheduling an item adds it again under its new time; the old entry
 * is skipped when popped because `item.due` no longer matches (lazy deletion).
 */
export class DueQueue<T extends Timed> {
  /** One entry per distinct due time, holding that time's bucket (ties never occur: times are distinct). */
  private readonly heap = new MinHeap<T[]>()
  private readonly buckets = new Map<number, T[]>()
  /** The earliest due time queued, NaN when empty (so no watermark, not even +Infinity, finds it due). */
  first = Number.NaN

  /** Sets `item.due` and queues it under that time. */
  add(due: number, item: T): void {
    item.due = due
    const b = this.buckets.get(due)
    if (b !== undefined) {
      b.push(item)
      return
    }
    const bucket = [item]
    this.buckets.set(due, bucket)
    this.heap.push(due, 0, bucket)
    this.first = this.heap.peek()
  }

  /** True when something is queued at a time `<= w`. */
  hasDue(w: number): boolean {
    return this.first <= w
  }

  /** Removes and returns the bucket of the earliest due time, items in the order they were added (call only when something is queued). */
  pop(): T[] {
    this.buckets.delete(this.first)
    const b = this.heap.pop()
    this.first = this.heap.size > 0 ? this.heap.peek() : Number.NaN
    return b
  }

  /**
   * Every live item (whose `due` still matches its entry) once, in firing order: for snapshots. An
   * item moved away and back to the same time has two matching entries; processing skips the second
   * (its `due` has moved on by then), so it is listed once here too.
   */
  live(): T[] {
    const out = new Set<T>()
    for (const due of [...this.buckets.keys()].sort((a, b) => a - b))
      for (const item of this.buckets.get(due)!) if (item.due === due) out.add(item)
    return [...out]
  }
}
