/**
 * Items sorted by an integer index, at most one per index, in a ring buffer: what a key of sliced
 * hopping windows keeps of its windows (by start) and slices (by slice number). In-order use, adding
 * past the last index and removing the first, costs O(1) and, once the buffer has grown to the most
 * items held at once, allocates nothing; a Map used so re-allocates its table every few adds, and
 * the tables live long enough to be promoted by the garbage collector. Finding an index is a binary
 * search; adding one before the last shifts the items after it (out-of-order events, rare).
 * Memory follows the items held, not the span of their indexes.
 */
export class IndexDeque<T> {
  // A plain array, not a Float64Array: small integer indexes stay small integers when read back,
  // so the windows and slices made from them hold no boxed numbers.
  private indexes: number[] = [0, 0, 0, 0]
  private items: (T | undefined)[] = [undefined, undefined, undefined, undefined]
  private mask = 3
  /** Ring position of the first item. */
  private head = 0
  /** How many items are held. */
  size = 0

  /** Index of the `k`-th item from the first (`0 <= k < size`). */
  indexAt(k: number): number {
    return this.indexes[(this.head + k) & this.mask]
  }

  /** The `k`-th item from the first (`0 <= k < size`). */
  at(k: number): T {
    return this.items[(this.head + k) & this.mask]!
  }

  /** The first index, NaN when empty. */
  get first(): number {
    return this.size === 0 ? Number.NaN : this.indexes[this.head]
  }

  /** The last index, NaN when empty. */
  get last(): number {
    return this.size === 0 ? Number.NaN : this.indexes[(this.head + this.size - 1) & this.mask]
  }

  /** How many items have an index below `i`: the position of the first at or after it. */
  rank(i: number): number {
    let lo = 0
    let hi = this.size
    // In-order callers mostly ask past the end.
    if (hi === 0 || this.indexAt(hi - 1) < i) return hi
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.indexAt(mid) < i) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The item at index `i`, or undefined. */
  get(i: number): T | undefined {
    const k = this.rank(i)
    return k < this.size && this.indexAt(k) === i ? this.at(k) : undefined
  }

  /** Puts `item` at index `i` (replacing any item there). */
  set(i: number, item: T): void {
    const k = this.rank(i)
    if (k < this.size && this.indexAt(k) === i) {
      this.items[(this.head + k) & this.mask] = item
      return
    }
    if (this.size === this.items.length) this.grow()
    const { indexes, items, mask, head } = this
    // Shift the items after position k one place on.
    for (let j = this.size; j > k; j--) {
      const to = (head + j) & mask
      const from = (head + j - 1) & mask
      indexes[to] = indexes[from]
      items[to] = items[from]
    }
    indexes[(head + k) & mask] = i
    items[(head + k) & mask] = item
    this.size++
  }

  /** Removes the first item and returns it (call only when not empty). */
  shift(): T {
    const item = this.items[this.head]!
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.size--
    return item
  }

  /** Removes the item at index `i`, if any. */
  delete(i: number): void {
    const k = this.rank(i)
    if (k === this.size || this.indexAt(k) !== i) return
    if (k === 0) {
      this.shift()
      return
    }
    const { indexes, items, mask, head } = this
    for (let j = k; j < this.size - 1; j++) {
      const to = (head + j) & mask
      const from = (head + j + 1) & mask
      indexes[to] = indexes[from]
      items[to] = items[from]
    }
    items[(head + this.size - 1) & mask] = undefined
    this.size--
  }

  /** Removes every item. */
  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.size = 0
  }

  private grow(): void {
    const n = this.items.length * 2
    const indexes: number[] = new Array(n).fill(0)
    const items: (T | undefined)[] = new Array(n).fill(undefined)
    for (let k = 0; k < this.size; k++) {
      indexes[k] = this.indexAt(k)
      items[k] = this.at(k)
    }
    this.indexes = indexes
    this.items = items
    this.mask = n - 1
    this.head = 0
  }
}
