import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Sliding, WindowSpec } from '../../dsl/windows.ts'
import type { CompiledAggregator } from './aggregator.ts'
import type { KeyTimer, Win, WindowCore, WindowKind } from './WindowCore.ts'
import { firstEndingAtOrAfter, upperBound } from './sliding.ts'

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
  /**
   * Per item, in parallel arrays (no object per event: a long window keeps many, and the garbage
   * collector's work grows with them): time, value, arrival order (`seq`; 0 restored from a
   * checkpoint, older than anything new) and position; for front items, the suffix aggregate and
   * the latest arrival in it.
   */
  times: number[]
  values: unknown[]
  seqs: number[]
  poss: number[]
  aggs: unknown[]
  aggSeqs: number[]
  aggPoss: number[]
  head: number
  mid: number
  pend: number
  back: unknown
  /** The latest arrival folded into `back` (0: none). */
  backSeq: number
  backPos: number
  readonly wins: Win[]
}

/** The first index in `times[from..]` whose time is `>= t`. */
const lowerBound = (times: readonly number[], from: number, t: number): number => {
  let lo = from
  let hi = times.length
  if (hi === lo || times[hi - 1] < t) return hi
  while (lo < hi) {
    const m = (lo + hi) >> 1
    if (times[m] < t) lo = m + 1
    else hi = m
  }
  return lo
}

/**
 * True when sliding or hopping windows of this spec can be aggregated incrementally, from partial
 * aggregates shared between windows (`slidingIncrementalKind`, `hoppingSlicedKind`):
 * every aggregation is a built-in (its step cannot throw, and it merges associatively and
 * commutatively), no allowed lateness (so windows fire once, in end order, and a firing may drop what
 * lies before its start) and `'final'` emission (an `'updates'` changelog re-emits every window an
 * event joins, which costs what the window count costs anyway).
 */
export const incrementalWindows = (spec: WindowSpec, agg: CompiledAggregator): boolean =>
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

  /** A fresh accumulator of item `i`'s event alone. */
  const lift = (agg: CompiledAggregator, ks: SlidingKey, i: number) => {
    agg.read(ks.values[i])
    return agg.fold(agg.init())
  }

  /** Folds item `j` into the back. The aggregations are commutative: its place there does not matter. */
  const toBack = (agg: CompiledAggregator, ks: SlidingKey, j: number) => {
    agg.read(ks.values[j])
    ks.back = agg.fold(ks.back)
    if (ks.seqs[j] >= ks.backSeq) {
      ks.backSeq = ks.seqs[j]
      ks.backPos = ks.poss[j]
    }
  }

  /** Front suffixes from index `to` (below `mid`) down to `head`. */
  const rebuildFront = (agg: CompiledAggregator, ks: SlidingKey, to: number) => {
    const { seqs, poss, aggs, aggSeqs, aggPoss } = ks
    for (let i = to; i >= ks.head; i--) {
      if (i === ks.mid - 1) {
        aggs[i] = lift(agg, ks, i)
        aggSeqs[i] = seqs[i]
        aggPoss[i] = poss[i]
      } else {
        aggs[i] = agg.merge(lift(agg, ks, i), aggs[i + 1])
        const newer = seqs[i] >= aggSeqs[i + 1]
        aggSeqs[i] = newer ? seqs[i] : aggSeqs[i + 1]
        aggPoss[i] = newer ? poss[i] : aggPoss[i + 1]
      }
    }
  }

  const clear = (ks: SlidingKey) => {
    ks.times = []
    ks.values = []
    ks.seqs = []
    ks.poss = []
    ks.aggs = []
    ks.aggSeqs = []
    ks.aggPoss = []
    ks.head = ks.mid = ks.pend = 0
  }

  /**
   * Drops the items before index `h`. True when that reached past the front, so the back lost items
   * and must be refolded (or flipped).
   */
  const dropBefore = (ks: SlidingKey, h: number): boolean => {
    const n = ks.times.length
    if (h <= ks.head) return false
    if (h === n) {
      clear(ks)
      return true
    }
    for (let i = ks.head; i < h; i++) {
      ks.values[i] = undefined
      ks.aggs[i] = undefined
    }
    ks.head = h
    const pastFront = h > ks.mid
    if (pastFront) ks.mid = h
    if (h > ks.pend) ks.pend = h
    if (h > 1024 && h > n >> 1) {
      ks.times = ks.times.slice(h)
      ks.values = ks.values.slice(h)
      ks.seqs = ks.seqs.slice(h)
      ks.poss = ks.poss.slice(h)
      ks.aggs = ks.aggs.slice(h)
      ks.aggSeqs = ks.aggSeqs.slice(h)
      ks.aggPoss = ks.aggPoss.slice(h)
      ks.mid -= h
      ks.pend -= h
      ks.head = 0
    }
    return pastFront
  }

  /** The back refolded from its items (after some were dropped: an aggregate cannot give them back). */
  const refoldBack = (agg: CompiledAggregator, ks: SlidingKey) => {
    ks.back = agg.init()
    ks.backSeq = 0
    ks.backPos = Number.NaN
    for (let j = ks.mid; j < ks.pend; j++) toBack(agg, ks, j)
  }

  /** The front run empty: every folded item (all before the firing window's end) moves to the front, each once. */
  const flip = (agg: CompiledAggregator, ks: SlidingKey) => {
    ks.mid = ks.pend
    rebuildFront(agg, ks, ks.pend - 1)
    ks.back = agg.init()
    ks.backSeq = 0
    ks.backPos = Number.NaN
  }

  /**
   * The key's timer, which frees a quiet key's items: due when its newest item is out of every
   * window's reach. An active key's items are dropped by its firings; its timer, once due, moves on.
   */
  const arm = (core: WindowCore<SlidingKey>, ks: SlidingKey) => {
    const n = ks.times.length
    if (ks.head === n) ks.due = Number.NaN
    else {
      const due = ks.times[n - 1] + size
      if (ks.due !== due) core.schedule(ks, due)
    }
  }

  const isEmpty = (ks: SlidingKey) => ks.wins.length === 0 && ks.head === ks.times.length

  return {
    newKey: (key) => ({
      key,
      due: Number.NaN,
      times: [],
      values: [],
      seqs: [],
      poss: [],
      aggs: [],
      aggSeqs: [],
      aggPoss: [],
      head: 0,
      mid: 0,
      pend: 0,
      back: undefined,
      backSeq: 0,
      backPos: Number.NaN,
      wins: [],
    }),
    add(core: WindowCore<SlidingKey>, ks: SlidingKey, t: number, value: unknown, pos: number): boolean {
      const own = t + 1 > core.W
      const wins = ks.wins
      const i = firstEndingAtOrAfter(wins, t + 1)
      const joins = i < wins.length && wins[i].end <= t + size
      if (!own && !joins) return false
      const agg = core.agg
      if (ks.back === undefined) ks.back = agg.init()
      const at = upperBound(ks.times, ks.head, t)
      if (at === ks.times.length) {
        ks.times.push(t)
        ks.values.push(value)
        ks.seqs.push(++seq)
        ks.poss.push(pos)
        ks.aggs.push(undefined)
        ks.aggSeqs.push(0)
        ks.aggPoss.push(Number.NaN)
      } else {
        ks.times.splice(at, 0, t)
        ks.values.splice(at, 0, value)
        ks.seqs.splice(at, 0, ++seq)
        ks.poss.splice(at, 0, pos)
        ks.aggs.splice(at, 0, undefined)
        ks.aggSeqs.splice(at, 0, 0)
        ks.aggPoss.splice(at, 0, Number.NaN)
      }
      // At or after `pend` it is pending, folded when a firing's end passes it.
      if (at < ks.pend) {
        ks.pend++
        if (at >= ks.mid) toBack(agg, ks, at)
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
      if (Number.isNaN(ks.due)) arm(core, ks)
      return true
    },
    settle(core, ks, w) {
      const agg = core.agg
      // Windows of a key fire in end order and never again (no lateness): what lies before this
      // one's start is needed by no window left.
      dropBefore(ks, lowerBound(ks.times, ks.head, w.start))
      const pend = lowerBound(ks.times, ks.pend, w.end)
      if (ks.head === ks.mid) {
        ks.pend = pend
        flip(agg, ks)
      } else {
        for (let j = ks.pend; j < pend; j++) toBack(agg, ks, j)
        ks.pend = pend
      }
      let acc = agg.init()
      let latest = 0
      let latestPos = Number.NaN
      if (ks.head < ks.mid) {
        acc = agg.merge(acc, ks.aggs[ks.head])
        latest = ks.aggSeqs[ks.head]
        latestPos = ks.aggPoss[ks.head]
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
      const { times, values, seqs, poss } = ks
      let acc = agg.init()
      let latest = 0
      for (let k = lowerBound(times, ks.head, w.start); k < times.length && times[k] < w.end; k++) {
        agg.read(values[k])
        acc = agg.fold(acc)
        if (seqs[k] > latest) {
          latest = seqs[k]
          w.pos = poss[k]
        }
      }
      return acc
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
      if (dropBefore(ks, lowerBound(ks.times, ks.head, keepFrom))) refoldBack(core.agg, ks)
      // This entry is spent: re-armed even for the same time (kept for an open window that fires
      // at it, this entry goes after that window's), so what is left is freed too.
      ks.due = Number.NaN
      arm(core, ks)
      return isEmpty(ks)
    },
    snapshotKey: (ks) => ({ times: ks.times.slice(ks.head), values: ks.values.slice(ks.head) }),
    restoreKey(core, ks, state) {
      const s = state as { times: number[]; values: unknown[] }
      // All pending: the first firing folds them.
      clear(ks)
      ks.times = s.times
      ks.values = s.values
      ks.seqs = s.times.map(() => 0)
      ks.poss = s.times.map(() => Number.NaN)
      ks.aggs = s.times.map(() => undefined)
      ks.aggSeqs = s.times.map(() => 0)
      ks.aggPoss = s.times.map(() => Number.NaN)
      ks.back = core.agg.init()
      arm(core, ks)
    },
  }
}
