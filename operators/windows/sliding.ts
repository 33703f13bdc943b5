import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Sliding } from '../../dsl/windows.ts'
import type { KeyTimer, Win, WindowCore, WindowKind } from './WindowCore.ts'

/**
 * A key's accepted events still within reach of a window (sorted by time, from `head`), its open
 * windows sorted by end, and (as a `KeyTimer`) when the buffer is next pruned.
 */
interface SlidingKey extends KeyTimer {
  readonly key: Key
  times: number[]
  values: unknown[]
  head: number
  readonly wins: Win[]
}

/** The first index in `xs[from..]` whose value is `> x` (insertion point keeping equal times in arrival order). */
export const upperBound = (xs: readonly number[], from: number, x: number): number => {
  let lo = from
  let hi = xs.length
  if (hi === lo || xs[hi - 1] <= x) return hi
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The first window whose end is `>= e` (windows sorted by end). */
export const firstEndingAtOrAfter = (wins: readonly Win[], e: number): number => {
  let lo = 0
  let hi = wins.length
  if (hi === 0 || wins[hi - 1].end < e) return hi
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (wins[mid].end < e) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Sliding windows: each event at `t` defines `[t - size + 1, t + 1)` over its key's events (events
 * at equal times share it). An event joins the open windows of its key that contain it (ends in
 * `[t + 1, t + size]`) and opens its own if `t + 1 + L > W`; it is late if it can do neither.
 *
 * A window opened after some of its events arrived is built from the key's buffer of accepted
 * events, each kept while a window containing it could still open or be open: until
 * `W >= t + size + L` (a per-key timer prunes it, so a quiet key's buffer is freed too).
 */
export function slidingKind(a: Sliding): WindowKind<SlidingKey> {
  const { size } = a
  const prune = (core: WindowCore<SlidingKey>, ks: SlidingKey) => {
    const { times } = ks
    const keepFrom = core.W - size - core.L // keep t with t + size + L > W
    let h = ks.head
    while (h < times.length && times[h] <= keepFrom) h++
    if (h === times.length) {
      ks.times = []
      ks.values = []
      ks.head = 0
    } else if (h > 1024 && h > times.length >> 1) {
      ks.times = times.slice(h)
      ks.values = ks.values.slice(h)
      ks.head = 0
    } else {
      for (let i = ks.head; i < h; i++) ks.values[i] = undefined
      ks.head = h
    }
  }
  const arm = (core: WindowCore<SlidingKey>, ks: SlidingKey) => {
    const due = ks.head < ks.times.length ? ks.times[ks.head] + size + core.L : Number.NaN
    if (Number.isNaN(due)) ks.due = Number.NaN
    else if (ks.due !== due) core.schedule(ks, due)
  }
  // Scratch for `add` (which never runs twice at once): the event's steps in the windows it joins.
  const prepared: unknown[] = []
  const isEmpty = (ks: SlidingKey) => ks.wins.length === 0 && ks.head === ks.times.length
  return {
    newKey: (key) => ({ key, due: Number.NaN, times: [], values: [], head: 0, wins: [] }),
    add(core: WindowCore<SlidingKey>, ks: SlidingKey, t: number, value: unknown, pos: number): boolean {
      const own = t + 1 + core.L > core.W
      const wins = ks.wins
      const i = firstEndingAtOrAfter(wins, t + 1)
      let j = i
      while (j < wins.length && wins[j].end <= t + size) j++
      if (!own && i === j) return false
      const agg = core.agg
      let w: Win | undefined
      if (own && !(i < j && wins[i].end === t + 1)) {
        // Its own window, built from the buffer (not kept yet). Reading the buffered events reuses
        // the aggregator's read slot, so this event is read again after them.
        w = core.open(ks, t - size + 1, t + 1, pos)
        const { times, values } = ks
        for (let k = upperBound(times, ks.head, t - size); k < times.length && times[k] <= t; k++) core.readAndFold(w, values[k])
        agg.read(value)
      }
      // This event's step in every window it joins, prepared before any of them changes: an `add`
      // that throws for one leaves them all as they were.
      const mayThrow = agg.mayThrow
      // Indexed, not emptied and pushed: `length = 0` drops an array's storage, one allocation per event.
      if (mayThrow) for (let m = i; m < j; m++) prepared[m - i] = agg.prepare(wins[m].acc)
      const ownStep = w === undefined || !mayThrow ? undefined : agg.prepare(w.acc)
      for (let m = i; m < j; m++) {
        const x = wins[m]
        if (mayThrow) {
          x.acc = agg.commit(x.acc, prepared[m - i])
          prepared[m - i] = undefined
        } else x.acc = agg.fold(x.acc)
        x.pos = pos
        core.touched(x)
      }
      if (w !== undefined) {
        w.acc = mayThrow ? agg.commit(w.acc, ownStep) : agg.fold(w.acc)
        w.pos = pos
      }
      // Buffered and kept only once every step succeeded: an `add` that throws leaves no trace.
      const at = upperBound(ks.times, ks.head, t)
      if (at === ks.times.length) {
        ks.times.push(t)
        ks.values.push(value)
      } else {
        ks.times.splice(at, 0, t)
        ks.values.splice(at, 0, value)
      }
      if (w !== undefined) {
        wins.splice(i, 0, w)
        core.touched(w)
      }
      if (Number.isNaN(ks.due) || ks.times[ks.head] + size + core.L < ks.due) arm(core, ks)
      return true
    },
    windowsOf: (t: number): WindowBounds[] => [{ start: t - size + 1, end: t + 1 }],
    isEmpty,
    free(ks, w) {
      // Windows are freed in end order, so this is almost always the first.
      const i = ks.wins[0] === w ? 0 : ks.wins.indexOf(w)
      if (i >= 0) ks.wins.splice(i, 1)
    },
    restore(ks, w) {
      const i = firstEndingAtOrAfter(ks.wins, w.end)
      ks.wins.splice(i, 0, w)
    },
    onKeyTimer(core, ks) {
      prune(core, ks)
      arm(core, ks)
      return isEmpty(ks)
    },
    snapshotKey: (ks) => ({ times: ks.times.slice(ks.head), values: ks.values.slice(ks.head) }),
    restoreKey(core, ks, state) {
      const s = state as { times: number[]; values: unknown[] }
      ks.times = s.times
      ks.values = s.values
      ks.head = 0
      arm(core, ks)
    },
  }
}
