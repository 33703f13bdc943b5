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
  private readonly heap: number[] = []
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
    this.buckets.set(due, [item])
    const h = this.heap
    let i = h.length
    h.push(due)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p] <= due) break
      h[i] = h[p]
      i = p
    }
    h[i] = due
    this.first = h[0]
  }

  /** True when something is queued at a time `<= w`. */
  hasDue(w: number): boolean {
    return this.first <= w
  }

  /** The earliest due time queued (call only when something is queued). */
  next(): number {
    return this.heap[0]
  }

  /** Removes and returns the bucket of the earliest due time, items in the order they were added (call only when something is queued). */
  pop(): T[] {
    const h = this.heap
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && h[r] < h[l] ? r : l
        if (h[c] >= last) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
    }
    this.first = h.length > 0 ? h[0] : Number.NaN
    const b = this.buckets.get(top)!
    this.buckets.delete(top)
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

  /** The number of entries queued, stale ones included. */
  get size(): number {
    let n = 0
    for (const b of this.buckets.values()) n += b.length
    return n
  }
}
