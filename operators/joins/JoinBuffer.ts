import type { Key } from '../../dsl/stream.ts'

const NONE = -1

/**
 * The buffered events of an interval join, both sides, without an object per event. Each event is a
 * slot, an index into parallel arrays (its side, time, position, arrival number, whether it has
 * matched, its key's number and its value); each key is a number too, whose two lists (one per side)
 * hold its events' slots in arrival order, circular and doubly linked. A key is looked up once per
 * arriving event, and an evicted event finds its key by number. Freed slots and key numbers are reused.
 * A key left with no events keeps its number until empty keys outnumber twice the others (then they
 * are all forgotten at once): a key that comes back soon, as most do, costs no Map insertion and
 * deletion each time, and memory stays within a constant factor of the keys with events.
 *
 * An Entry object and a one-element array per buffered event, promoted to the old generation because
 * they live for the join interval, plus a Map lookup per side on every arrival and eviction, made
 * most of the join's time in the bench.
 */
export class JoinBuffer {
  // Slots.
  private capacity = 1024
  private sides = new Uint8Array(this.capacity)
  private flags = new Uint8Array(this.capacity)
  private times = new Float64Array(this.capacity)
  private positions = new Float64Array(this.capacity)
  private seqs = new Float64Array(this.capacity)
  private nexts = new Int32Array(this.capacity)
  private prevs = new Int32Array(this.capacity)
  private slotKeys = new Int32Array(this.capacity)
  private readonly values: unknown[] = []
  private freeSlot = NONE
  private topSlot = 0
  // Keys: key number k's first slot on side s is firsts[2k + s].
  private keyCapacity = 256
  private firsts = new Int32Array(2 * this.keyCapacity)
  private readonly keys: (Key | undefined)[] = []
  private readonly numbers = new Map<Key, number>()
  private freeKey = NONE
  private topKey = 0
  /** Key numbers on the free list, and key numbers given to keys with no events. */
  private freedKeys = 0
  private emptyKeys = 0

  side(s: number): 0 | 1 {
    return this.sides[s] as 0 | 1
  }
  time(s: number): number {
    return this.times[s]
  }
  pos(s: number): number {
    return this.positions[s]
  }
  seq(s: number): number {
    return this.seqs[s]
  }
  key(s: number): Key {
    return this.keys[this.slotKeys[s]]!
  }
  value(s: number): unknown {
    return this.values[s]
  }
  matched(s: number): boolean {
    return this.flags[s] === 1
  }
  markMatched(s: number): void {
    this.flags[s] = 1
  }

  /** The number of `key`, given to it now if it has none. */
  keyNumber(key: Key): number {
    const k = this.numbers.get(key)
    return k === undefined ? this.newKey(key) : k
  }

  /** The first slot of key number `k` on `side`, or -1 when it has none. */
  first(k: number, side: 0 | 1): number {
    return this.firsts[2 * k + side]
  }

  /** The slot after `s` in its list, or -1 after the last one (`first` is the list's first slot). */
  after(s: number, first: number): number {
    const n = this.nexts[s]
    return n === first ? NONE : n
  }

  /** Buffers an event of key number `k` at the end of its side's list; returns its slot. */
  add(k: number, side: 0 | 1, value: unknown, time: number, pos: number, seq: number, matched: boolean): number {
    const s = this.allocSlot()
    this.sides[s] = side
    this.flags[s] = matched ? 1 : 0
    this.times[s] = time
    this.positions[s] = pos
    this.seqs[s] = seq
    this.slotKeys[s] = k
    this.values[s] = value
    const head = this.firsts[2 * k + side]
    if (head === NONE) {
      if (this.firsts[2 * k + 1 - side] === NONE) this.emptyKeys--
      this.firsts[2 * k + side] = s
      this.nexts[s] = s
      this.prevs[s] = s
    } else {
      const last = this.prevs[head]
      this.nexts[last] = s
      this.prevs[s] = last
      this.nexts[s] = head
      this.prevs[head] = s
    }
    return s
  }

  /** Unlinks slot `s` from its list and frees it (see the class comment for keys left with no events). */
  remove(s: number): void {
    const k = this.slotKeys[s]
    const at = 2 * k + this.sides[s]
    const next = this.nexts[s]
    if (next === s) {
      this.firsts[at] = NONE
      if (this.firsts[2 * k] === NONE && this.firsts[2 * k + 1] === NONE && ++this.emptyKeys > 1024) {
        const withEvents = this.topKey - this.freedKeys - this.emptyKeys
        if (this.emptyKeys > 2 * withEvents) this.forgetEmptyKeys()
      }
    } else {
      const prev = this.prevs[s]
      this.nexts[prev] = next
      this.prevs[next] = prev
      if (this.firsts[at] === s) this.firsts[at] = next
    }
    this.values[s] = undefined
    this.nexts[s] = this.freeSlot
    this.freeSlot = s
  }

  /** Keys with a number, events or not (for tests: what the key Map holds). */
  get keyCount(): number {
    return this.numbers.size
  }

  clear(): void {
    this.freedKeys = 0
    this.emptyKeys = 0
    this.numbers.clear()
    this.keys.length = 0
    this.values.length = 0
    this.freeSlot = NONE
    this.topSlot = 0
    this.freeKey = NONE
    this.topKey = 0
  }

  private newKey(key: Key): number {
    let k = this.freeKey
    if (k !== NONE) {
      this.freeKey = this.firsts[2 * k]
      this.freedKeys--
    } else {
      if (this.topKey === this.keyCapacity) this.growKeys()
      k = this.topKey++
    }
    this.firsts[2 * k] = NONE
    this.firsts[2 * k + 1] = NONE
    this.keys[k] = key
    this.numbers.set(key, k)
    this.emptyKeys++
    return k
  }

  /** Frees the number of every key with no events; the free list is linked through a key's left slot. */
  private forgetEmptyKeys(): void {
    for (let k = 0; k < this.topKey; k++) {
      const key = this.keys[k]
      if (key === undefined || this.firsts[2 * k] !== NONE || this.firsts[2 * k + 1] !== NONE) continue
      this.numbers.delete(key)
      this.keys[k] = undefined
      this.firsts[2 * k] = this.freeKey
      this.freeKey = k
      this.freedKeys++
    }
    this.emptyKeys = 0
  }

  private allocSlot(): number {
    const s = this.freeSlot
    if (s !== NONE) {
      this.freeSlot = this.nexts[s]
      return s
    }
    if (this.topSlot === this.capacity) this.growSlots()
    return this.topSlot++
  }

  private growSlots(): void {
    const n = (this.capacity *= 2)
    this.sides = widened(this.sides, new Uint8Array(n))
    this.flags = widened(this.flags, new Uint8Array(n))
    this.times = widened(this.times, new Float64Array(n))
    this.positions = widened(this.positions, new Float64Array(n))
    this.seqs = widened(this.seqs, new Float64Array(n))
    this.nexts = widened(this.nexts, new Int32Array(n))
    this.prevs = widened(this.prevs, new Int32Array(n))
    this.slotKeys = widened(this.slotKeys, new Int32Array(n))
  }

  private growKeys(): void {
    this.keyCapacity *= 2
    this.firsts = widened(this.firsts, new Int32Array(2 * this.keyCapacity))
  }
}

const widened = <A extends Uint8Array | Float64Array | Int32Array>(from: A, to: A): A => {
  to.set(from)
  return to
}
