import type { Observable } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import type { WindowJoinSpec } from '../../dsl/joins.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import { fromMachine2, type Machine2 } from './twoInputs.ts'
import { MinHeap } from '../core/MinHeap.ts'

/** One buffered event of either side. */
interface Entry {
  readonly side: 0 | 1
  readonly key: Key
  readonly value: unknown
  readonly time: number
  readonly pos: number
  /** Arrival order: breaks ties between equal times, so eviction order is deterministic. */
  readonly seq: number
  matched: boolean
}

/** Snapshot form of an entry: `[side, key, value, time, pos, matched]`, in arrival order. */
type EntryState = [0 | 1, Key, unknown, number, number, boolean]

interface WindowJoinState {
  readonly watermark: number | null
  readonly entries: EntryState[]
}

/**
 * The interval join's state machine (see `windowJoin` in dsl/joins.ts). Per side, a Map from key to
 * that key's buffered events; one heap orders all of them by time, so a watermark advance pops
 * exactly the events that can no longer match (time < W - within), emitting the unmatched ones the
 * join type asks for, in time order.
 */
export function windowJoinMachine(
  spec: WindowJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<unknown, unknown> {
  const { within, type } = spec
  const buckets: [Map<Key, Entry[]>, Map<Key, Entry[]>] = [new Map(), new Map()]
  // The eviction schedule: every buffered entry by (time, arrival), so eviction order is deterministic.
  const heap = new MinHeap<Entry>()
  const emitLeft = type !== 'inner'
  const emitRight = type === 'outer'
  let w = Number.NEGATIVE_INFINITY
  let seq = 0

  const add = (side: 0 | 1, key: Key, value: unknown, time: number, pos: number, matched: boolean): void => {
    const e: Entry = { side, key, value, time, pos, seq: seq++, matched }
    const own = buckets[side]
    const bucket = own.get(key)
    if (bucket === undefined) own.set(key, [e])
    else bucket.push(e)
    heap.push(time, e.seq, e)
  }

  const arrive = (side: 0 | 1, d: Data<unknown, unknown>): void => {
    const time = d.time
    if (time < w) {
      ctx.late({ _tag: 'Late', value: d.value, time, key: d.key, pos: d.pos, watermark: w, stage: 'windowJoin', windows: [] })
      return
    }
    const key = d.key as Key
    const others = buckets[1 - side].get(key)
    let matched = false
    if (others !== undefined) {
      for (let i = 0; i < others.length; i++) {
        const o = others[i]
        const dt = o.time - time
        if (dt > within || dt < -within) continue
        matched = true
        o.matched = true
        const value = side === 0 ? { left: d.value, right: o.value } : { left: o.value, right: d.value }
        emit({ _tag: 'Data', value, time: o.time > time ? o.time : time, key, pos: d.pos })
      }
    }
    add(side, key, d.value, time, d.pos, matched)
  }

  return {
    left: (d) => arrive(0, d),
    right: (d) => arrive(1, d),
    watermark(wm) {
      w = wm
      const horizon = wm - within
      while (heap.peek() < horizon) {
        const top = heap.pop()
        const own = buckets[top.side]
        const bucket = own.get(top.key)!
        if (bucket.length === 1) own.delete(top.key)
        else bucket.splice(bucket.indexOf(top), 1)
        if (top.matched || !(top.side === 0 ? emitLeft : emitRight)) continue
        const value = top.side === 0 ? { left: top.value, right: undefined } : { left: undefined, right: top.value }
        emit({ _tag: 'Data', value, time: top.time, key: top.key, pos: top.pos })
      }
    },
    snapshot(): WindowJoinState {
      const entries = [...heap.values()].sort((a, b) => a.seq - b.seq)
      return {
        watermark: Number.isFinite(w) ? w : null,
        entries: entries.map((e): EntryState => [e.side, e.key, e.value, e.time, e.pos, e.matched]),
      }
    },
    restore(state) {
      const s = state as WindowJoinState
      buckets[0].clear()
      buckets[1].clear()
      heap.clear()
      seq = 0
      w = s.watermark ?? Number.NEGATIVE_INFINITY
      for (const [side, key, value, time, pos, matched] of s.entries) add(side, key, value, time, pos, matched)
    },
  }
}

/** Interprets a `WindowJoin` node: left and right inputs; the output watermark lags by `within`. */
export function windowJoinOperator(
  spec: WindowJoinSpec,
  left: Observable<Element<unknown>>,
  right: Observable<Element<unknown>>,
  ctx: RunContext,
): Observable<Element<unknown>> {
  return fromMachine2(ctx, left, right, (emit) => windowJoinMachine(spec, ctx, emit), (w) => w - spec.within)
}
