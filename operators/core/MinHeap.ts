/**
 * A binary min-heap ordered by `(priority, tie)`, holding a payload per entry. Parallel arrays keep
 * the comparisons on plain numbers; `tie` (an insertion counter) makes the order total, so equal
 * priorities pop in insertion order and runs are reproducible.
 */
export class MinHeap<P> {
  private pri: number[] = []
  private tie: number[] = []
  private items: P[] = []

  get size(): number {
    return this.items.length
  }

  /** The smallest priority, or `+Infinity` when empty. */
  peek(): number {
    return this.items.length === 0 ? Number.POSITIVE_INFINITY : this.pri[0]
  }

  /** The smallest entry's payload, or `undefined` when empty. */
  peekItem(): P | undefined {
    return this.items[0]
  }

  /** Every payload, in heap order (not sorted). */
  values(): readonly P[] {
    return this.items
  }

  clear(): void {
    this.pri.length = 0
    this.tie.length = 0
    this.items.length = 0
  }

  push(priority: number, tie: number, item: P): void {
    const pri = this.pri
    const ti = this.tie
    const items = this.items
    let i = items.length
    pri.push(priority)
    ti.push(tie)
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (pri[parent] < priority || (pri[parent] === priority && ti[parent] < tie)) break
      pri[i] = pri[parent]
      ti[i] = ti[parent]
      items[i] = items[parent]
      i = parent
    }
    pri[i] = priority
    ti[i] = tie
    items[i] = item
  }

  /** Removes and returns the smallest entry's payload (the heap must not be empty). */
  pop(): P {
    const pri = this.pri
    const ti = this.tie
    const items = this.items
    const top = items[0]
    const lastP = pri.pop()!
    const lastT = ti.pop()!
    const lastI = items.pop()!
    const n = items.length
    if (n === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && (pri[r] < pri[l] || (pri[r] === pri[l] && ti[r] < ti[l])) ? r : l
      if (pri[c] > lastP || (pri[c] === lastP && ti[c] > lastT)) break
      pri[i] = pri[c]
      ti[i] = ti[c]
      items[i] = items[c]
      i = c
    }
    pri[i] = lastP
    ti[i] = lastT
    items[i] = lastI
    return top
  }

  /** The entries in heap order, for snapshots: `[priority, tie, payload]`. */
  entries<Q>(f: (item: P) => Q): [number, number, Q][] {
    return this.items.map((item, i) => [this.pri[i], this.tie[i], f(item)])
  }

  /** Replaces the contents with entries taken by `entries` (already in heap order). */
  load<Q>(entries: readonly (readonly [number, number, Q])[], f: (q: Q) => P): void {
    this.pri = entries.map((e) => e[0])
    this.tie = entries.map((e) => e[1])
    this.items = entries.map((e) => f(e[2]))
  }
}
