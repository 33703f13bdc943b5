import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Tumbling } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './machine.ts'

/** A key's tumbling windows by start, and the one its last event went to (the in-order fast path). */
interface TumblingKey {
  readonly key: Key
  cur: Win | undefined
  readonly wins: Map<number, Win>
}

/**
 * Tumbling windows: an event at `t` is in exactly one window, `[start, start + size)` with
 * `start = floor((t - offset) / size) * size + offset`. It joins it if `end + L > W`, else it is late.
 * In-order events of a key hit the window of its previous event: one comparison, no lookup.
 */
export function tumblingKind(a: Tumbling): WindowKind<TumblingKey> {
  const { size, offset } = a
  const startOf = (t: number) => Math.floor((t - offset) / size) * size + offset
  return {
    inOrder: { extend: 0 },
    newKey: (key) => ({ key, cur: undefined, wins: new Map() }),
    add(core: WindowCore<TumblingKey>, ks: TumblingKey, t: number, _value: unknown, pos: number): boolean {
      const start = startOf(t)
      let w = ks.cur
      if (w === undefined || w.start !== start) {
        w = ks.wins.get(start)
        if (w === undefined) {
          const end = start + size
          // Open windows always satisfy end + L > W (they are freed otherwise), so only a new one is checked.
          if (end + core.L <= core.W) return false
          w = core.open(ks.key, start, end, pos)
          // Folded before it is kept: an `add` that throws leaves no window behind.
          core.fold(w, pos)
          ks.wins.set(start, w)
          ks.cur = w
          core.touched(w)
          return true
        }
        ks.cur = w
      }
      core.fold(w, pos)
      core.touched(w)
      return true
    },
    windowsOf(t: number): WindowBounds[] {
      const start = startOf(t)
      return [{ start, end: start + size }]
    },
    isEmpty: (ks) => ks.wins.size === 0,
    free(ks, w) {
      ks.wins.delete(w.start)
      if (ks.cur === w) ks.cur = undefined
      return ks.wins.size === 0
    },
    restore(ks, w) {
      ks.wins.set(w.start, w)
    },
  }
}
