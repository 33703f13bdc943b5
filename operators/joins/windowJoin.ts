import type { Data } from '../../dsl/element.ts'
import type { WindowJoinSpec } from '../../dsl/joins.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import type { Machine2 } from './twoInputs.ts'
import { MinHeap } from '../core/MinHeap.ts'
import { JoinBuffer } from './JoinBuffer.ts'

/** Snapshot form of an entry: `[side, key, value, time, pos, matched]`, in arrival order. */
type EntryState = [0 | 1, Key, unknown, number, number, boolean]

interface WindowJoinState {
  readonly watermark: number | null
  readonly entries: EntryState[]
}

/**
 * The interval join's state machine (see `windowJoin` in dsl/joins.ts). Per side, each key's buffered
 * events in arrival order (a `JoinBuffer`); one heap orders all of them by time, so a watermark
 * advance pops exactly the events that can no longer match (time < W - within), emitting the
 * unmatched ones the join type asks for, in time order.
 */
export function windowJoinMachine(
  spec: WindowJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<unknown, unknown> {
  const { within, type } = spec
  const buf = new JoinBuffer()
  // The eviction schedule: every buffered slot by (time, arrival), so eviction order is deterministic.
  const heap = new MinHeap<number>()
  const emitLeft = type !== 'inner'
  const emitRight = type === 'outer'
  let w = Number.NEGATIVE_INFINITY
  let seq = 0

  const add = (k: number, side: 0 | 1, value: unknown, time: number, pos: number, matched: boolean): void => {
    heap.push(time, seq, buf.add(k, side, value, time, pos, seq, matched))
    seq++
  }

  const arrive = (side: 0 | 1, d: Data<unknown, unknown>): void => {
    const time = d.time
    if (time < w) {
      ctx.late({ _tag: 'Late', value: d.value, time, key: d.key, pos: d.pos, watermark: w, stage: 'windowJoin', windows: [] })
      return
    }
    const key = d.key as Key
    const k = buf.keyNumber(key)
    const first = buf.first(k, side === 0 ? 1 : 0)
    let matched = false
    for (let o = first; o !== -1; o = buf.after(o, first)) {
      const ot = buf.time(o)
      const dt = ot - time
      if (dt > within || dt < -within) continue
      matched = true
      buf.markMatched(o)
      const value = side === 0 ? { left: d.value, right: buf.value(o) } : { left: buf.value(o), right: d.value }
      emit({ _tag: 'Data', value, time: ot > time ? ot : time, key, pos: d.pos })
    }
    add(k, side, d.value, time, d.pos, matched)
  }

  /** Emits an evicted slot that never matched, when the join type asks for its side. */
  const unmatched = (s: number): void => {
    const side = buf.side(s)
    if (buf.matched(s) || !(side === 0 ? emitLeft : emitRight)) return
    const value = side === 0 ? { left: buf.value(s), right: undefined } : { left: undefined, right: buf.value(s) }
    emit({ _tag: 'Data', value, time: buf.time(s), key: buf.key(s), pos: buf.pos(s) })
  }

  return {
    left: (d) => arrive(0, d),
    right: (d) => arrive(1, d),
    watermark(wm) {
      w = wm
      const horizon = wm - within
      while (heap.peek() < horizon) {
        const s = heap.pop()
        unmatched(s)
        buf.remove(s)
      }
    },
    snapshot(): WindowJoinState {
      const slots = [...heap.values()].sort((a, b) => buf.seq(a) - buf.seq(b))
      return {
        watermark: Number.isFinite(w) ? w : null,
        entries: slots.map((s): EntryState => [buf.side(s), buf.key(s), buf.value(s), buf.time(s), buf.pos(s), buf.matched(s)]),
      }
    },
    restore(state) {
      const s = state as WindowJoinState
      buf.clear()
      heap.clear()
      seq = 0
      w = s.watermark ?? Number.NEGATIVE_INFINITY
      for (const [side, key, value, time, pos, matched] of s.entries) add(buf.keyNumber(key), side, value, time, pos, matched)
    },
  }
}

/** A window join's output watermark lags its input's by `within`: a result may still come for any earlier time. */
export const windowJoinLag =
  (spec: WindowJoinSpec) =>
  (w: number): number =>
    w - spec.within
