import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Hopping } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './WindowCore.ts'

interface HoppingKey {
  readonly key: Key
  readonly wins: Map<number, Win>
}

/**
 * Hopping windows `[k*hop, k*hop + size)`: an event at `t` belongs to every `k` from
 * `floor((t - size) / hop) + 1` to `floor(t / hop)` (`floor` or `ceil` of `size / hop` windows). It joins
 * those with `end + L > W`; it is late only when none is left.
 */
export function hoppingKind(a: Hopping): WindowKind<HoppingKey> {
  const { size, hop } = a
  const first = (t: number) => Math.floor((t - size) / hop) + 1
  const last = (t: number) => Math.floor(t / hop)
  /** The window starting at `start` for an event: the open one, a new one (not kept yet), or none once it is past `end + L`. */
  const windowFor = (core: WindowCore<HoppingKey>, ks: HoppingKey, start: number, pos: number): Win | undefined => {
    const w = ks.wins.get(start)
    if (w !== undefined) return w
    const end = start + size
    return end + core.L <= core.W ? undefined : core.open(ks, start, end, pos)
  }
  /** Folds into, keeps if new, and reports one window the event joins. */
  const joined = (core: WindowCore<HoppingKey>, ks: HoppingKey, w: Win, acc: unknown, pos: number) => {
    w.acc = acc
    w.pos = pos
    // A window just opened has never been queued (see `touched`): keep it now.
    if (Number.isNaN(w.due)) ks.wins.set(w.start, w)
    core.touched(w)
  }
  // Scratch for `add` (which never runs twice at once) when a step may throw: the windows an event
  // joins, and its steps there. Indexed, not emptied and pushed: `length = 0` drops an array's
  // storage, so every event would allocate both again.
  const targets: (Win | undefined)[] = []
  const prepared: unknown[] = []
  return {
    sharedDueTimes: true,
    newKey: (key) => ({ key, wins: new Map() }),
    /**
     * When a step may throw, the event's step in every window it joins is prepared before any window
     * changes or a new one is kept, so an `add` that throws for one leaves them all as they were.
     * With built-ins only nothing can fail part-way, and each window is folded as it is found.
     */
    add(core: WindowCore<HoppingKey>, ks: HoppingKey, t: number, _value: unknown, pos: number): boolean {
      const agg = core.agg
      const atomic = agg.mayThrow
      let n = 0
      for (let k = first(t), hi = last(t); k <= hi; k++) {
        const w = windowFor(core, ks, k * hop, pos)
        if (w === undefined) continue
        if (!atomic) joined(core, ks, w, agg.fold(w.acc), pos)
        else {
          targets[n] = w
          prepared[n] = agg.prepare(w.acc)
        }
        n++
      }
      if (atomic)
        for (let i = 0; i < n; i++) {
          const w = targets[i]!
          joined(core, ks, w, agg.commit(w.acc, prepared[i]), pos)
          // Let go of them, so a window freed later is not kept alive from here (after an add that
          // throws, at most size / hop of them stay until the next event overwrites them).
          targets[i] = prepared[i] = undefined
        }
      return n > 0
    },
    windowsOf(t: number): WindowBounds[] {
      const out: WindowBounds[] = []
      for (let k = first(t), hi = last(t); k <= hi; k++) out.push({ start: k * hop, end: k * hop + size })
      return out
    },
    isEmpty: (ks) => ks.wins.size === 0,
    free(ks, w) {
      ks.wins.delete(w.start)
    },
    restore(ks, w) {
      ks.wins.set(w.start, w)
    },
  }
}
