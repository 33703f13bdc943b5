import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Hopping } from '../../dsl/windows.ts'
import { Win, type WindowCore, type WindowKind } from './WindowCore.ts'
import { IndexDeque } from './IndexDeque.ts'

/** A partial aggregate of a key's events, with the latest arrival in it (`seq` orders arrivals). */
interface Partial {
  acc: unknown
  seq: number
  pos: number
}

/**
 * The partial aggregate of one slice, `[start, end)`: with these bounds a key's current slice is its
 * `cur` for the generated in-order path (`inOrderPush`), which folds an event into it straight.
 */
interface Slice extends Partial {
  start: number
  end: number
}

/**
 * A key's open windows by start and its slices by index (slice `s` covers `[s * g, (s + 1) * g)`),
 * each in index order. A window is a `Win` once it is its key's first (next to fire), or when it was
 * restored from a checkpoint; until then it is only its `seq` (see `keep`).
 */
interface SlicedKey {
  readonly key: Key
  readonly wins: IndexDeque<Win | number>
  readonly slices: IndexDeque<Slice>
  /** The slice its latest event went to, and its index: in-order events mostly go there again. */
  cur: Slice | undefined
  curIndex: number
  /**
   * What lets a window combine two partials instead of its `n` slices. Slices are grouped in blocks
   * of `n` (a window's length in slices); a window spans a suffix of one block and a prefix of the
   * next. Block `sufBlock` (NaN: none) has been made suffixes in place: each of its slices holds
   * itself and the block's slices after it (see `toSuffixes`). `pre`: slices of block `preBlock`
   * from its first up to `preEnd` (exclusive), undefined when none holds events.
   */
  sufBlock: number
  pre: Partial | undefined
  preBlock: number
  preEnd: number
  /**
   * Freed windows and slices, to be reused by the key's next ones: a slice lives for a window's
   * `n` slices of event time, so new ones would all be copied and promoted by the garbage collector
   * before they die (`hopping('1h', '1m')`: about 60 per key), and so would each key's next window.
   */
  readonly spareWins: Win[]
  readonly spareSlices: Slice[]
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/**
 * Hopping windows `[k*hop, k*hop + size)` (same semantics as `hoppingKind`, docs/semantics.md
 * "Windows") by stream slicing: an event is folded once, into the partial aggregate of its slice of
 * width `gcd(size, hop)`, and a window combines its `size / g` slices when it fires, instead of every
 * event being folded into each of its `size / hop` windows. An in-order event into its key's
 * current slice takes the generated in-order path (its windows are all open: they end at or after
 * the slice), and a firing window combines two kept partials (`combine`), not its slices one by
 * one. Used, like `slidingIncrementalKind`, for built-in aggregations, no allowed lateness and
 * `'final'` emission (`incrementalWindows`).
 *
 * A window's accumulator (`acc`) holds only what it had when restored from a checkpoint (the
 * checkpoint keeps windows' values, as `hoppingKind` writes them); its events since are in the
 * slices. A slice holds only events that joined some window, so each window sees exactly its own.
 */
export function hoppingSlicedKind(a: Hopping): WindowKind<SlicedKey> {
  const { size, hop } = a
  const g = gcd(size, hop)
  /** A window's length in slices. */
  const n = size / g
  const first = (t: number) => Math.floor((t - size) / hop) + 1
  const last = (t: number) => Math.floor(t / hop)
  let seq = 0
  /** Windows opened so far (restored ones included): each window's `seq`, its place in firing order. */
  let opened = 0

  /**
   * The accumulator of every window opened here (not restored): nothing folds into a window's own
   * accumulator on this path, so all share one, and a key's windows in the heap for the whole of
   * their length are one object each, not two.
   */
  let empty: unknown

  /**
   * Opens the window at `start`. Only a key's first window is made a `Win` and queued: the others
   * are kept as their `seq`, made `Win`s as each becomes the first (`free`). A key's first event
   * opens all `size / hop` windows holding it, and as objects, every key's first event at once would
   * add that many objects per key to the heap, enough for the collector to move the stream's own
   * events to the old generation for the rest of the run (measured: `hopping('1h', '1m')` half as fast).
   */
  const keep = (core: WindowCore<SlicedKey>, ks: SlicedKey, start: number, pos: number) => {
    empty ??= core.agg.init()
    const wins = ks.wins
    if (wins.size > 0 && start > wins.first) {
      wins.set(start, ++opened)
      core.opened()
      return
    }
    const spare = ks.spareWins.pop()
    const w = spare === undefined ? core.open(ks, start, start + size, pos) : core.reopen(spare, start, start + size, empty, pos)
    w.acc = empty
    w.seq = ++opened
    wins.set(start, w)
    core.touched(w)
  }

  /**
   * The window at `start`, held as its `seq` until now, made a `Win`: `w`, a window of the key just
   * freed. Its `pos` is set when it fires or a checkpoint looks at it: it holds the slice of the
   * event that opened it (steps of built-ins cannot throw), and slices within open windows stay.
   */
  const materialise = (core: WindowCore<SlicedKey>, ks: SlicedKey, w: Win, start: number, order: number) => {
    core.reopen(w, start, start + size, empty, 0)
    w.seq = order
    ks.wins.set(start, w)
    core.schedule(w, w.end)
  }

  /** A slice `i` holding the event just read, its object reused when the key has one spare. */
  const newSlice = (core: WindowCore<SlicedKey>, ks: SlicedKey, i: number, pos: number): Slice => {
    const agg = core.agg
    const spare = ks.spareSlices.pop()
    if (spare === undefined) return { acc: agg.fold(agg.init()), seq: ++seq, pos, start: i * g, end: (i + 1) * g }
    spare.acc = agg.fold(agg.reset(spare.acc))
    spare.seq = ++seq
    spare.pos = pos
    spare.start = i * g
    spare.end = (i + 1) * g
    return spare
  }

  /**
   * Makes block `b`'s slices suffixes, in place, from its last back to its first: each slice's
   * `acc`, `seq` and `pos` become those of itself and the block's slices after it. Done when the
   * block's first window fires, once: the watermark is then past the block's end, so no in-order
   * event goes there again, and the window before it has fired, so no window needs its slices one
   * by one (except a checkpoint's look, `combineEach`); events out of order that still reach it are
   * added to the suffixes (`behind`). Its slices go when its last window is freed.
   */
  const toSuffixes = (core: WindowCore<SlicedKey>, ks: SlicedKey, b: number) => {
    const agg = core.agg
    const slices = ks.slices
    const from = slices.rank(b * n)
    let k = from
    while (k < slices.size && slices.indexAt(k) < (b + 1) * n) k++
    for (k -= 2; k >= from; k--) {
      const slice = slices.at(k)
      const after = slices.at(k + 1)
      slice.acc = agg.merge(slice.acc, after.acc)
      if (after.seq > slice.seq) {
        slice.seq = after.seq
        slice.pos = after.pos
      }
    }
    ks.sufBlock = b
  }

  /** The first slice at or after `first` in block `b`, made suffixes: `first` to the block's end combined. */
  const suffix = (core: WindowCore<SlicedKey>, ks: SlicedKey, b: number, first: number): Partial | undefined => {
    if (ks.sufBlock !== b) toSuffixes(core, ks, b)
    const slices = ks.slices
    const k = slices.rank(first)
    return k < slices.size && slices.indexAt(k) < (b + 1) * n ? slices.at(k) : undefined
  }

  /**
   * The event just read, at slice `i` of block `b`, which is made suffixes: into slice `i` (made, if
   * new, with the suffix after it) and into every slice of the block before it, whose suffixes hold it.
   */
  const behind = (core: WindowCore<SlicedKey>, ks: SlicedKey, i: number, b: number, pos: number) => {
    const agg = core.agg
    const slices = ks.slices
    const at = slices.rank(i)
    if (at < slices.size && slices.indexAt(at) === i) {
      const slice = slices.at(at)
      slice.acc = agg.fold(slice.acc)
      slice.seq = ++seq
      slice.pos = pos
    } else {
      const fresh = newSlice(core, ks, i, pos)
      if (at < slices.size && slices.indexAt(at) < (b + 1) * n) fresh.acc = agg.merge(fresh.acc, slices.at(at).acc)
      slices.set(i, fresh)
    }
    for (let k = slices.rank(b * n); k < at; k++) {
      const slice = slices.at(k)
      slice.acc = agg.fold(slice.acc)
      slice.seq = seq
      slice.pos = pos
    }
  }

  /** Slices `b * n .. end - 1` combined, extending the kept prefix when it is of block `b` and no longer. */
  const prefix = (core: WindowCore<SlicedKey>, ks: SlicedKey, b: number, end: number): Partial | undefined => {
    if (ks.preBlock !== b || ks.preEnd > end) {
      ks.pre = undefined
      ks.preBlock = b
      ks.preEnd = b * n
    }
    let pre = ks.pre
    const slices = ks.slices
    for (let k = slices.rank(ks.preEnd); k < slices.size && slices.indexAt(k) < end; k++) {
      const slice = slices.at(k)
      if (pre === undefined) pre = { acc: core.agg.merge(core.agg.init(), slice.acc), seq: slice.seq, pos: slice.pos }
      else {
        // The kept prefix's accumulator is its own, so it grows in place.
        pre.acc = core.agg.merge(pre.acc, slice.acc)
        if (slice.seq > pre.seq) {
          pre.seq = slice.seq
          pre.pos = slice.pos
        }
      }
    }
    ks.pre = pre
    ks.preEnd = end
    return pre
  }

  /**
   * `w`'s slices combined one by one (the first of its block made suffixes, if any, standing for
   * the rest of that block), keeping no partials: for a checkpoint's look at a window not yet fired,
   * whose slices may still change on the in-order path, which drops no kept partial.
   */
  const combineEach = (core: WindowCore<SlicedKey>, ks: SlicedKey, w: Win): unknown => {
    const agg = core.agg
    let acc = w.acc === empty ? agg.init() : agg.merge(agg.init(), w.acc)
    let latest = 0
    const slices = ks.slices
    const first = w.start / g
    const b = Math.floor(first / n)
    const suffixes = b === ks.sufBlock
    for (let k = slices.rank(first), end = w.end / g; k < slices.size && slices.indexAt(k) < end; k++) {
      const slice = slices.at(k)
      acc = agg.merge(acc, slice.acc)
      if (slice.seq > latest) {
        latest = slice.seq
        w.pos = slice.pos
      }
      // A suffix holds the rest of its block: on to the next block.
      if (suffixes && slices.indexAt(k) < (b + 1) * n) k = slices.rank((b + 1) * n) - 1
    }
    return acc
  }

  /** A change to slice `i` after a prefix holding it was kept: it is dropped, to be computed again. */
  const changed = (ks: SlicedKey, i: number) => {
    if (Math.floor(i / n) === ks.preBlock && i < ks.preEnd) ks.preBlock = Number.NaN
  }

  /**
   * The slices of `w` combined with what it was restored with; sets `w.pos` to its latest arrival.
   * Windows fire in start order, so the suffixes of a block serve its `n / (hop / g)` windows and the
   * prefix grows by one hop per window: a firing costs a few merges, not `n`.
   */
  const combine = (core: WindowCore<SlicedKey>, ks: SlicedKey, w: Win): unknown => {
    const agg = core.agg
    let acc = w.acc === empty ? agg.init() : agg.merge(agg.init(), w.acc)
    let latest = 0
    const first = w.start / g
    const b = Math.floor(first / n)
    const j = first - b * n
    const head = suffix(core, ks, b, first)
    const tail = j === 0 ? undefined : prefix(core, ks, b + 1, first + n)
    if (head !== undefined) {
      acc = agg.merge(acc, head.acc)
      latest = head.seq
      w.pos = head.pos
    }
    if (tail !== undefined) {
      acc = agg.merge(acc, tail.acc)
      if (tail.seq > latest) w.pos = tail.pos
    }
    return acc
  }

  return {
    inOrder: { extend: 0 },
    sharedDueTimes: true,
    newKey: (key) => ({
      key,
      wins: new IndexDeque(),
      slices: new IndexDeque(),
      cur: undefined,
      curIndex: Number.NaN,
      sufBlock: Number.NaN,
      pre: undefined,
      preBlock: Number.NaN,
      preEnd: Number.NaN,
      spareWins: [],
      spareSlices: [],
    }),
    add(core: WindowCore<SlicedKey>, ks: SlicedKey, t: number, _value: unknown, pos: number): boolean {
      // The open windows holding t: from the first whose end is past W (no lateness) to the last.
      const kLast = last(t)
      const kOpen = Math.max(first(t), Math.floor((core.W - size) / hop) + 1)
      if (kOpen > kLast) return false
      const from = kOpen * hop
      const to = kLast * hop
      // A key's windows are usually one run of starts (every in-order event needs at most one new
      // window, at the top): then only the missing top is opened, without a lookup per window.
      const wins = ks.wins
      const lo = wins.first
      const hi = wins.last
      const run = wins.size === (hi - lo) / hop + 1
      if (run && from >= lo && from <= hi + hop) {
        for (let s = hi + hop; s <= to; s += hop) keep(core, ks, s, pos)
      } else {
        for (let s = from; s <= to; s += hop) if (wins.get(s) === undefined) keep(core, ks, s, pos)
      }
      const i = Math.floor(t / g)
      const b = Math.floor(i / n)
      if (b === ks.sufBlock) {
        behind(core, ks, i, b, pos)
        return true
      }
      const slice = i === ks.curIndex ? ks.cur : ks.slices.get(i)
      changed(ks, i)
      if (slice === undefined) {
        const fresh = newSlice(core, ks, i, pos)
        ks.slices.set(i, fresh)
        ks.cur = fresh
        ks.curIndex = i
      } else {
        ks.cur = slice
        ks.curIndex = i
        slice.acc = core.agg.fold(slice.acc)
        slice.seq = ++seq
        slice.pos = pos
      }
      return true
    },
    settle(core, ks, w) {
      w.acc = combine(core, ks, w)
    },
    peek: combineEach,
    windowsOf(t: number): WindowBounds[] {
      const out: WindowBounds[] = []
      for (let k = first(t), hi = last(t); k <= hi; k++) out.push({ start: k * hop, end: k * hop + size })
      return out
    },
    isEmpty: (ks) => ks.wins.size === 0 && ks.slices.size === 0,
    free(ks, w, core) {
      const wins = ks.wins
      const wasFirst = w.start === wins.first
      wins.delete(w.start)
      if (wins.size === 0) {
        ks.spareWins.push(w)
        ks.slices.clear()
        ks.cur = undefined
        ks.curIndex = Number.NaN
        ks.sufBlock = ks.preBlock = Number.NaN
        ks.pre = undefined
        return
      }
      // Windows are freed in start order, and a window opened later starts after this one (no
      // lateness: its end is past W, at least this one's end): slices before the next start are dead.
      if (wasFirst) {
        const lo = wins.first / g
        const slices = ks.slices
        while (slices.size > 0 && slices.first < lo) ks.spareSlices.push(slices.shift())
        if (ks.curIndex < lo) {
          ks.cur = undefined
          ks.curIndex = Number.NaN
        }
        const next = wins.at(0)
        if (typeof next === 'number') {
          materialise(core, ks, w, wins.first, next)
          return
        }
      }
      ks.spareWins.push(w)
    },
    restore(ks, w) {
      w.seq = ++opened
      ks.wins.set(w.start, w)
    },
    unqueued(ks, out) {
      const wins = ks.wins
      for (let k = 0; k < wins.size; k++) {
        const order = wins.at(k)
        if (typeof order !== 'number') continue
        const start = wins.indexAt(k)
        const w = new Win(ks, start, start + size, empty, 0)
        w.due = w.end
        w.seq = order
        out.push(w)
      }
    },
  }
}
