import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Hopping } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './WindowCore.ts'

/** The partial aggregate of one slice of a key's events, with the latest arrival in it. */
interface Slice {
  acc: unknown
  seq: number
  pos: number
}

/**
 * A key's open windows by start, the starts' range (`lo`, `hi`; NaN with none) and its slices by
 * index (slice `s` covers `[s * g, (s + 1) * g)`).
 */
interface SlicedKey {
  readonly key: Key
  readonly wins: Map<number, Win>
  lo: number
  hi: number
  readonly slices: Map<number, Slice>
  /** The slice its latest event went to, and its index: in-order events mostly go there again. */
  cur: Slice | undefined
  curIndex: number
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/**
 * Hopping windows `[k*hop, k*hop + size)` (same semantics as `hoppingKind`, docs/semantics.md
 * "Windows") by stream slicing: an event is folded once, into the partial aggregate of its slice of
 * width `gcd(size, hop)`, and a window combines its `size / g` slices when it fires, instead of every
 * event being folded into each of its `size / hop` windows. Used, like `slidingIncrementalKind`, for
 * built-in aggregations, no allowed lateness and `'final'` emission (`incrementalWindows`).
 *
 * A window's accumulator (`acc`) holds only what it had when restored from a checkpoint (the
 * checkpoint keeps windows' values, as `hoppingKind` writes them); its events since are in the
 * slices. A slice holds only events that joined some window, so each window sees exactly its own.
 */
export function hoppingSlicedKind(a: Hopping): WindowKind<SlicedKey> {
  const { size, hop } = a
  const g = gcd(size, hop)
  const first = (t: number) => Math.floor((t - size) / hop) + 1
  const last = (t: number) => Math.floor(t / hop)
  let seq = 0

  const keep = (core: WindowCore<SlicedKey>, ks: SlicedKey, start: number, pos: number) => {
    const w = core.open(ks, start, start + size, pos)
    ks.wins.set(start, w)
    if (!(ks.lo <= start)) ks.lo = start
    if (!(ks.hi >= start)) ks.hi = start
    core.touched(w)
  }

  /** The slices of `w` combined with what it was restored with; sets `w.pos` to its latest arrival. */
  const combine = (core: WindowCore<SlicedKey>, ks: SlicedKey, w: Win): unknown => {
    const agg = core.agg
    let acc = agg.merge(agg.init(), w.acc)
    let latest = 0
    for (let s = w.start / g, end = w.end / g; s < end; s++) {
      const slice = ks.slices.get(s)
      if (slice === undefined) continue
      acc = agg.merge(acc, slice.acc)
      if (slice.seq > latest) {
        latest = slice.seq
        w.pos = slice.pos
      }
    }
    return acc
  }

  return {
    newKey: (key) => ({ key, wins: new Map(), lo: Number.NaN, hi: Number.NaN, slices: new Map(), cur: undefined, curIndex: Number.NaN }),
    add(core: WindowCore<SlicedKey>, ks: SlicedKey, t: number, _value: unknown, pos: number): boolean {
      // The open windows holding t: from the first whose end is past W (no lateness) to the last.
      const kLast = last(t)
      const kOpen = Math.max(first(t), Math.floor((core.W - size) / hop) + 1)
      if (kOpen > kLast) return false
      const from = kOpen * hop
      const to = kLast * hop
      // A key's windows are usually one run of starts (every in-order event needs at most one new
      // window, at the top): then only the missing top is opened, without a lookup per window.
      const run = ks.wins.size === (ks.hi - ks.lo) / hop + 1
      if (run && from >= ks.lo && from <= ks.hi + hop) {
        for (let s = ks.hi + hop; s <= to; s += hop) keep(core, ks, s, pos)
      } else {
        for (let s = from; s <= to; s += hop) if (!ks.wins.has(s)) keep(core, ks, s, pos)
      }
      const agg = core.agg
      const i = Math.floor(t / g)
      const slice = i === ks.curIndex ? ks.cur : ks.slices.get(i)
      if (slice === undefined) {
        const fresh = { acc: agg.fold(agg.init()), seq: ++seq, pos }
        ks.slices.set(i, fresh)
        ks.cur = fresh
        ks.curIndex = i
      } else {
        ks.cur = slice
        ks.curIndex = i
        slice.acc = agg.fold(slice.acc)
        slice.seq = ++seq
        slice.pos = pos
      }
      return true
    },
    settle(core, ks, w) {
      w.acc = combine(core, ks, w)
    },
    peek: combine,
    windowsOf(t: number): WindowBounds[] {
      const out: WindowBounds[] = []
      for (let k = first(t), hi = last(t); k <= hi; k++) out.push({ start: k * hop, end: k * hop + size })
      return out
    },
    isEmpty: (ks) => ks.wins.size === 0 && ks.slices.size === 0,
    free(ks, w) {
      ks.wins.delete(w.start)
      if (ks.wins.size === 0) {
        ks.lo = ks.hi = Number.NaN
        ks.slices.clear()
        ks.cur = undefined
        ks.curIndex = Number.NaN
        return
      }
      // Windows are freed in start order, and a window opened later starts after this one (no
      // lateness: its end is past W, at least this one's end): slices before the next start are dead.
      if (w.start === ks.lo) {
        let lo = ks.lo + hop
        while (lo < ks.hi && !ks.wins.has(lo)) lo += hop
        for (let s = ks.lo / g, end = lo / g; s < end; s++) ks.slices.delete(s)
        if (ks.curIndex < lo / g) {
          ks.cur = undefined
          ks.curIndex = Number.NaN
        }
        ks.lo = lo
      }
    },
    restore(ks, w) {
      ks.wins.set(w.start, w)
      if (!(ks.lo <= w.start)) ks.lo = w.start
      if (!(ks.hi >= w.start)) ks.hi = w.start
    },
  }
}
