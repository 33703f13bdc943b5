/**
 * A first-in first-out queue with O(1) `push` and `shift`. `Array.prototype.shift` moves every
 * remaining element, so draining a queue of n with it costs O(n²): 200k window results queued
 * behind an async sink took 16 s that way. Here a head index moves instead, and the consumed part
 * is dropped only once it is at least half of the array (amortized O(1) per element).
 *
 * @example
 * const q = new Queue<number>()
 * q.push(1); q.push(2)
 * q.shift() // 1
 * q.length // 1
 */
export class Queue<T> {
  private items: (T | undefined)[] = []
  private head = 0

  /** Elements queued and not yet shifted. */
  get length(): number {
    return this.items.length - this.head
  }

  /** Adds `x` at the back. */
  push(x: T): void {
    this.items.push(x)
  }

  /** Removes and returns the front element, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const x = this.items[this.head]
    // Not kept reachable from the consumed part of the array.
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return x
  }

  /** The front element without removing it, or undefined when the queue is empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  /** Removes every element. */
  clear(): void {
    this.items.length = 0
    this.head = 0
  }

  /** Calls `f` with each queued element, front to back. */
  forEach(f: (x: T) => void): void {
    for (let i = this.head; i < this.items.length; i++) f(this.items[i] as T)
  }
}
