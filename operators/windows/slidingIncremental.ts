import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Sliding, WindowSpec } from '../../dsl/windows.ts'
import type { CompiledAggregator } from './aggregator.ts'
import type { KeyTimer, Win, WindowCore, WindowKind } from './machine.ts'

/**
 * One accepted event of a key: its time, value, arrival (`seq`, `pos`), and, while it is in the
 * front (see `SlidingKey`), the aggregate of itself and every front item after it, with the latest
 * arrival among them (`aggSeq`, `aggPos`).
 */
class Item {
  declare readonly t: number
  declare readonly value: unknown
  /** Arrival order (0: restored from a checkpoint, older than anything new). */
  declare readonly seq: number
  declare readonly pos: number
  declare agg: unknown
  declare aggSeq: number
  declare aggPos: number
  constructor(t: number, value: unknown, seq: number, pos: number) {
    this.t = t
    this.value = value
    this.seq = seq
    this.pos = pos
    this.agg = undefined
    this.aggSeq = 0
    this.aggPos = Number.NaN
  }
}

/**
 * A key's accepted events sorted by time (from `head`), in three runs, as in the two-stacks sliding
 * aggregator: the front `[head, mid)`, each item holding the aggregate of itself and the front items
 * after it (a suffix); the back `[mid, pend)`, folded into one accumulator `back`; and the pending
 * items `[pend, length)`, not folded yet, which a firing folds into the back as its end passes them.
 * A window's value is then the front's first suffix combined with the back, whatever its length.
 * Front items are older than the end of every window still to fire (a firing moved them there from
 * before its end), so a window never needs to leave out the front's end.
 */
interface SlidingKey extends KeyTimer {
  readonly key: Key
  items: Item[]
  head: number
  mid: number
  pend: number
  back: unknown
  /** The latest arrival folded into `back` (0: none). */
  backSeq: number
  backPos: number
  readonly wins: Win[]
}

/** The first index in `items[from..]` whose time is `> t` (equal times stay in arrival order). */
const upperBound = (items: readonly Item[], from: number, t: number): number => {
  let lo = from
  let hi = items.length
  if (hi === lo || items[hi - 1].t <= t) return hi
  while (lo < hi) {
    const m = (lo + hi) >> 1
    if (items[m].t <= t) lo = m + 1
    else hi = m
  }
  return lo
}

/** The first index in `items[from..]` whose time is `>= t`. */
const lowerBound = (items: readonly Item[], from: number, t: number): number => {
  let lo = from
  let hi = items.length
  if (hi === lo || items[hi - 1].t < t) return hi
  while (lo < hi) {
    const m = (lo + hi) >> 1
    if (items[m].t < t) lo = m + 1
    else hi = m
  }
  return lo
}

/** The first window whose end is `>= e`. */
const firstEndingAtOrAfter = (wins: readonly Win[], e: number): number => {
  let lo = 0
  let hi = wins.length
  if (hi === 0 || wins[hi - 1].end < e) return hi
  while (lo < hi) {
    const m = (lo + hi) >> 1
    if (wins[m].end < e) lo = m + 1
    else hi = m
  }
  return lo
}

/**
 * True when sliding windows of this spec can be aggregated incrementally (`slidingIncrementalKind`):
 * every aggregation is a built-in (its step cannot throw, and it merges associatively and
 * commutatively), no allowed lateness (so windows fire once, in end order, and a firing may drop what
 * lies before its start) and `'final'` emission (an `'updates'` changelog re-emits every window an
 * event joins, which costs what the window count costs anyway).
 */
export const incrementalSliding = (spec: WindowSpec, agg: CompiledAggregator): boolean =>
  spec.allowedLateness === 0 && spec.emit === 'final' && agg.fields.every((f) => f.safe && f.merge !== undefined)

/**
 * Sliding windows (same semantics as `slidingKind`, docs/semantics.md "Windows") with a per-event
 * cost independent of the window's length: an event is not folded into every open window holding it;
 * each window's value is computed when it fires, from the key's events sorted by time, as one front
 * suffix and one back prefix (two-stacks sliding aggregation, Tangwongsan et al.). In-order events
 * cost O(1) amortized (an append, and each item moves from back to front once); an event out of order
 * by `d` events within the watermark's bound is inserted among the back's last `d` and the prefixes
 * after it recomputed, O(d); only an event already behind the watermark (which still joins open
 * windows) may land in the front, costing up to the front's length.
 *
 * A window holds exactly the key's accepted events within its bounds: each accepted event is kept
 * until no window containing it can fire. Its `pos` is that of its latest-arriving event (the one the
 * general path folded last). Sums are grouped differently from arrival order, so floating-point sums
 * may differ from `slidingKind`'s in their last bits; integer sums, counts, min, max are identical.
 */
export function slidingIncrementalKind(a: Sliding): WindowKind<SlidingKey> {
  const { size } = a
  let seq = 0

  /** A fresh accumulator of the item's event alone. */
  const lift = (agg: CompiledAggregator, it: Item) => {
    agg.read(it.value)
    return agg.fold(agg.init())
  }

  /** Folds the item into the back. The aggregations are commutative: its place there does not matter. */
  const toBack = (agg: CompiledAggregator, ks: SlidingKey, it: Item) => {
    agg.read(it.value)
    ks.back = agg.fold(ks.back)
    if (it.seq >= ks.backSeq) {
      ks.backSeq = it.seq
      ks.backPos = it.pos
    }
  }

  /** The back refolded from its items (after some were dropped: an aggregate cannot give them back). */
  const refoldBack = (agg: CompiledAggregator, ks: SlidingKey) => {
    ks.back = agg.init()
    ks.backSeq = 0
    ks.backPos = Number.NaN
    for (let j = ks.mid; j < ks.pend; j++) toBack(agg, ks, ks.items[j])
  }

  /** Front suffixes from index `to` (below `mid`) down to `head`. */
  const rebuildFront = (agg: CompiledAggregator, ks: SlidingKey, to: number) => {
    const items = ks.items
    for (let i = to; i >= ks.head; i--) {
      const it = items[i]
      if (i === ks.mid - 1) {
        it.agg = lift(agg, it)
        it.aggSeq = it.seq
        it.aggPos = it.pos
      } else {
        const next = items[i + 1]
        it.agg = agg.merge(lift(agg, it), next.agg)
        const newer = it.seq >= next.aggSeq
        it.aggSeq = newer ? it.seq : next.aggSeq
        it.aggPos = newer ? it.pos : next.aggPos
      }
    }
  }

  /**
   * Drops the items before index `h`. True when that reached past the front, so the back lost items
   * and must be refolded (or flipped).
   */
  const dropBefore = (ks: SlidingKey, h: number): boolean => {
    const items = ks.items
    if (h <= ks.head) return false
    if (h === items.length) {
      ks.items = []
      ks.head = ks.mid = ks.pend = 0
      return true
    }
    for (let i = ks.head; i < h; i++) (items as (Item | undefined)[])[i] = undefined
    ks.head = h
    const pastFront = h > ks.mid
    if (pastFront) ks.mid = h
    if (h > ks.pend) ks.pend = h
    if (h > 1024 && h > items.length >> 1) {
      ks.items = items.slice(h)
      ks.mid -= h
      ks.pend -= h
      ks.head = 0
    }
    return pastFront
  }

  /** The front run empty: every folded item (all before the firing window's end) moves to the front, each once. */
  const flip = (agg: CompiledAggregator, ks: SlidingKey) => {
    ks.mid = ks.pend
    rebuildFront(agg, ks, ks.pend - 1)
    ks.back = agg.init()
    ks.backSeq = 0
    ks.backPos = Number.NaN
  }

  const arm = (core: WindowCore<SlidingKey>, ks: SlidingKey) => {
    const due = ks.head < ks.items.length ? ks.items[ks.head].t + size : Number.NaN
    if (Number.isNaN(due)) ks.due = Number.NaN
    else if (ks.due !== due) core.schedule(ks, due)
  }

  const isEmpty = (ks: SlidingKey) => ks.wins.length === 0 && ks.head === ks.items.length

  return {
    newKey: (key) => ({ key, due: Number.NaN, items: [], head: 0, mid: 0, pend: 0, back: undefined, backSeq: 0, backPos: Number.NaN, wins: [] }),
    add(core: WindowCore<SlidingKey>, ks: SlidingKey, t: number, value: unknown, pos: number): boolean {
      const own = t + 1 > core.W
      const wins = ks.wins
      const i = firstEndingAtOrAfter(wins, t + 1)
      const joins = i < wins.length && wins[i].end <= t + size
      if (!own && !joins) return false
      const agg = core.agg
      if (ks.back === undefined) ks.back = agg.init()
      const item = new Item(t, value, ++seq, pos)
      const items = ks.items
      const at = upperBound(items, ks.head, t)
      if (at === items.length) items.push(item)
      else items.splice(at, 0, item)
      // At or after `pend` it is pending, folded when a firing's end passes it.
      if (at < ks.pend) {
        ks.pend++
        if (at >= ks.mid) toBack(agg, ks, item)
        else {
          // Behind the front's newest: only an event already behind the watermark lands here.
          ks.mid++
          rebuildFront(agg, ks, at)
        }
      }
      if (own && !(i < wins.length && wins[i].end === t + 1)) {
        const w = core.open(ks, t - size + 1, t + 1, pos)
        wins.splice(i, 0, w)
        core.touched(w)
      }
      if (Number.isNaN(ks.due) || ks.items[ks.head].t + size < ks.due) arm(core, ks)
      return true
    },
    settle(core, ks, w) {
      const agg = core.agg
      // Windows of a key fire in end order and never again (no lateness): what lies before this
      // one's start is needed by no window left.
      dropBefore(ks, lowerBound(ks.items, ks.head, w.start))
      const items = ks.items
      const pend = lowerBound(items, ks.pend, w.end)
      if (ks.head === ks.mid) {
        ks.pend = pend
        flip(agg, ks)
      } else {
        for (let j = ks.pend; j < pend; j++) toBack(agg, ks, items[j])
        ks.pend = pend
      }
      let acc = agg.init()
      let latest = 0
      let latestPos = Number.NaN
      if (ks.head < ks.mid) {
        const f = items[ks.head]
        acc = agg.merge(acc, f.agg)
        latest = f.aggSeq
        latestPos = f.aggPos
      }
      if (ks.mid < ks.pend) {
        acc = agg.merge(acc, ks.back)
        if (ks.backSeq > latest) {
          latest = ks.backSeq
          latestPos = ks.backPos
        }
      }
      w.acc = acc
      // Restored items (seq 0) arrived before the checkpoint, when the window had its saved `pos`.
      if (latest > 0) w.pos = latestPos
    },
    peek(core, ks, w) {
      const agg = core.agg
      const items = ks.items
      let acc = agg.init()
      let latest = 0
      for (let k = lowerBound(items, ks.head, w.start); k < items.length && items[k].t < w.end; k++) {
        agg.read(items[k].value)
        acc = agg.fold(acc)
        if (items[k].seq > latest) {
          latest = items[k].seq
          w.pos = items[k].pos
        }
      }
      w.acc = acc
    },
    windowsOf: (t: number): WindowBounds[] => [{ start: t - size + 1, end: t + 1 }],
    isEmpty,
    free(ks, w) {
      const i = ks.wins[0] === w ? 0 : ks.wins.indexOf(w)
      if (i >= 0) ks.wins.splice(i, 1)
    },
    restore(ks, w) {
      ks.wins.splice(firstEndingAtOrAfter(ks.wins, w.end), 0, w)
    },
    onKeyTimer(core, ks) {
      // Keep what an open window (not fired yet) or a window still to open may hold: a new event
      // opens its own window only if `t + 1 > W`, which holds events after `W - size`.
      const keepFrom = ks.wins.length > 0 ? Math.min(ks.wins[0].start, core.W - size + 1) : core.W - size + 1
      if (dropBefore(ks, lowerBound(ks.items, ks.head, keepFrom))) refoldBack(core.agg, ks)
      arm(core, ks)
      return isEmpty(ks)
    },
    snapshotKey: (ks) => {
      const live = ks.items.slice(ks.head)
      return { times: live.map((it) => it.t), values: live.map((it) => it.value) }
    },
    restoreKey(core, ks, state) {
      const s = state as { times: number[]; values: unknown[] }
      // All pending: the first firing folds them.
      ks.items = s.times.map((t, k) => new Item(t, s.values[k], 0, Number.NaN))
      ks.head = ks.mid = ks.pend = 0
      ks.back = core.agg.init()
      arm(core, ks)
    },
  }
}
