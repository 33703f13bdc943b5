import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Hopping } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './machine.ts'

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
  // Scratch for `add` (which never runs twice at once): the windows an event joins, and its steps there.
  const targets: Win[] = []
  const prepared: unknown[] = []
  return {
    newKey: (key) => ({ key, wins: new Map() }),
    add(core: WindowCore<HoppingKey>, ks: HoppingKey, t: number, _value: unknown, pos: number): boolean {
      const agg = core.agg
      // The event's step in every window it joins is prepared before any window changes or a new one
      // is kept: an `add` that throws for one window leaves them all as they were.
      targets.length = 0
      prepared.length = 0
      for (let k = first(t), hi = last(t); k <= hi; k++) {
        const start = k * hop
        let w = ks.wins.get(start)
        if (w === undefined) {
          const end = start + size
          if (end + core.L <= core.W) continue
          w = core.open(ks, start, end, pos)
        }
        targets.push(w)
        prepared.push(agg.prepare(w.acc))
      }
      for (let i = 0; i < targets.length; i++) {
        const w = targets[i]
        w.acc = agg.commit(w.acc, prepared[i])
        w.pos = pos
        if (ks.wins.get(w.start) !== w) ks.wins.set(w.start, w)
        core.touched(w)
      }
      return targets.length > 0
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
