import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Session } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './WindowCore.ts'

/**
 * A key's open sessions, sorted by start; they never overlap, so they are sorted by end too. `cur`
 * is the last one, where in-order events land (the in-order path reads it).
 */
interface SessionKey {
  readonly key: Key
  readonly wins: Win[]
  cur: Win | undefined
}

const last = (ks: SessionKey): void => {
  ks.cur = ks.wins[ks.wins.length - 1]
}

/** The first index whose session ends after `t` (the first that can contain or follow `t`). */
const firstEndingAfter = (wins: readonly Win[], t: number): number => {
  let lo = 0
  let hi = wins.length
  // In-order events land on the last session or after it: check there before searching.
  if (hi === 0 || wins[hi - 1].end <= t) return hi
  if (hi === 1 || wins[hi - 2].end <= t) return hi - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (wins[mid].end <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Session windows: an event at `t` is the proto-session `[t, t + gap)`; it merges with every open
 * session of its key that overlaps it (consecutive events less than `gap` apart), giving
 * `[min start, max end)`. With no open session to merge it starts a new one if `t + gap + L > W`,
 * else it is late. Freed sessions never merge again. A merge that spans sessions folds their
 * accumulators with the aggregator's `merge`; in `'updates'` mode the merged-away ones are retracted.
 */
export function sessionKind(a: Session): WindowKind<SessionKey> {
  const { gap } = a
  return {
    // An event inside the last session is in no other (earlier sessions end at or before its start).
    inOrder: { extend: gap },
    newKey: (key) => ({ key, wins: [], cur: undefined }),
    add(core: WindowCore<SessionKey>, ks: SessionKey, t: number, _value: unknown, pos: number): boolean {
      const wins = ks.wins
      const i = firstEndingAfter(wins, t)
      let j = i
      while (j < wins.length && wins[j].start < t + gap) j++
      if (i === j) {
        // Joining an open session always passes the lateness test (its end + L > W), so only a new one is checked.
        if (t + gap + core.L <= core.W) return false
        const w = core.open(ks, t, t + gap, pos)
        // Folded before it is kept: an `add` that throws leaves no session behind.
        core.fold(w, pos)
        wins.splice(i, 0, w)
        last(ks)
        core.touched(w)
        return true
      }
      const w = wins[i]
      // Every user call comes before any change: the merges, into a fresh accumulator (a merge may
      // update its first argument in place), then the event's fold, as Flink's merging windows do.
      // One that throws leaves the sessions as they were.
      const agg = core.agg
      let acc = w.acc
      if (j - i > 1) {
        acc = agg.merge(agg.init(), acc)
        for (let m = i + 1; m < j; m++) acc = agg.merge(acc, wins[m].acc)
      }
      w.acc = agg.fold(acc)
      w.pos = pos
      const end = Math.max(wins[j - 1].end, t + gap)
      for (let m = i + 1; m < j; m++) core.retire(w, wins[m])
      if (j - i > 1) wins.splice(i + 1, j - i - 1)
      last(ks)
      if (t < w.start) w.start = t
      w.end = end
      core.touched(w)
      return true
    },
    windowsOf: (t: number): WindowBounds[] => [{ start: t, end: t + gap }],
    isEmpty: (ks) => ks.wins.length === 0,
    free(ks, w) {
      const i = ks.wins.indexOf(w)
      if (i >= 0) ks.wins.splice(i, 1)
      last(ks)
    },
    restore(ks, w) {
      let i = ks.wins.length
      while (i > 0 && ks.wins[i - 1].start > w.start) i--
      ks.wins.splice(i, 0, w)
      last(ks)
    },
  }
}
