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
  return {
    newKey: (key) => ({ key, wins: new Map() }),
    add(core: WindowCore<HoppingKey>, ks: HoppingKey, t: number, _value: unknown, pos: number): boolean {
      const hi = last(t)
      let joined = false
      for (let k = first(t); k <= hi; k++) {
        const start = k * hop
        let w = ks.wins.get(start)
        if (w === undefined) {
          const end = start + size
          if (end + core.L <= core.W) continue
          w = core.open(ks, start, end, pos)
          // Folded before it is kept: an `add` that throws leaves no window behind.
          core.fold(w, pos)
          ks.wins.set(start, w)
        } else core.fold(w, pos)
        core.touched(w)
        joined = true
      }
      return joined
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
