import type { WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Tumbling } from '../../dsl/windows.ts'
import type { Win, WindowCore, WindowKind } from './WindowCore.ts'

/**
 * A key's open tumbling windows sorted by start (usually one; more only while late data may still
 * reach earlier ones), and the one its last event went to (the in-order path). A small array, not a
 * Map: a Map allocates as it grows and shrinks, once per window per key.
 */
interface TumblingKey {
  readonly key: Key
  cur: Win | undefined
  readonly wins: Win[]
}

/** The index of the first window starting at or after `start`. */
const seek = (wins: readonly Win[], start: number): number => {
  let lo = 0
  let hi = wins.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (wins[mid].start < start) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Tumbling windows: an event at `t` is in exactly one window, `[start, start + size)` with
 * `start = floor((t - offset) / size) * size + offset`. It joins it if `end + L > W`, else it is late.
 * In-order events of a key hit the window of its previous event: one comparison, no lookup.
 */
export function tumblingKind(a: Tumbling): WindowKind<TumblingKey> {
  const { size, offset } = a
  const startOf = (t: number) => Math.floor((t - offset) / size) * size + offset
  const insert = (wins: Win[], w: Win) => {
    // In order, a new window goes last; otherwise it moves down to its place.
    let i = wins.length
    wins.push(w)
    while (i > 0 && wins[i - 1].start > w.start) {
      wins[i] = wins[i - 1]
      i--
    }
    wins[i] = w
  }
  return {
    inOrder: { extend: 0 },
    newKey: (key) => ({ key, cur: undefined, wins: [] }),
    add(core: WindowCore<TumblingKey>, ks: TumblingKey, t: number, _value: unknown, pos: number): boolean {
      const start = startOf(t)
      let w = ks.cur
      if (w === undefined || w.start !== start) {
        const wins = ks.wins
        const i = seek(wins, start)
        w = i < wins.length && wins[i].start === start ? wins[i] : undefined
        if (w === undefined) {
          const end = start + size
          // Open windows always satisfy end + L > W (they are freed otherwise), so only a new one is checked.
          if (end + core.L <= core.W) return false
          w = core.open(ks, start, end, pos)
          // Folded before it is kept: an `add` that throws leaves no window behind.
          core.fold(w, pos)
          insert(wins, w)
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
    isEmpty: (ks) => ks.wins.length === 0,
    free(ks, w) {
      const wins = ks.wins
      // Windows are freed in start order, so this is almost always the first.
      let i = wins[0] === w ? 0 : wins.indexOf(w)
      if (i >= 0) {
        for (; i < wins.length - 1; i++) wins[i] = wins[i + 1]
        wins.pop()
      }
      if (ks.cur === w) ks.cur = undefined
    },
    restore(ks, w) {
      insert(ks.wins, w)
    },
  }
}
