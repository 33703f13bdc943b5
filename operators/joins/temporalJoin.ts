import { notAChange, type Change } from '../../dsl/change.ts'
import { deadLetter } from '../../dsl/sides.ts'
import type { Data } from '../../dsl/element.ts'
import type { TemporalJoinSpec } from '../../dsl/temporalJoin.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import { MinHeap } from '../core/MinHeap.ts'
import type { Machine2 } from './twoInputs.ts'

/** One version of a row: valid from `from` (its change's event time) until the next one's. */
interface Version {
  readonly from: number
  readonly value: unknown
  readonly deleted: boolean
}

/** An event waiting for the watermark to pass its time. */
interface Waiting {
  readonly value: unknown
  readonly time: number
  readonly key: Key
  readonly pos: number
  readonly seq: number
}

/** A key whose older versions can go once the watermark reaches `at`. */
interface Prunable {
  readonly key: Key
  readonly at: number
  readonly seq: number
}

interface TemporalJoinState {
  readonly watermark: number | null
  readonly offset: number
  readonly seq: number
  readonly versions: Array<[Key, Version[]]>
  readonly waiting: Waiting[]
  readonly prunable: Prunable[]
}

/**
 * The temporal join's state machine (see `temporalJoin`): per key, the versions still needed,
 * sorted by time; the events waiting for the watermark, by (time, arrival); and the schedule of
 * keys whose superseded versions the watermark will release.
 */
export function temporalJoinMachine(
  spec: TemporalJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<unknown, Change<Key, unknown>> {
  const versions = new Map<Key, Version[]>()
  const waiting = new MinHeap<Waiting>()
  const prunable = new MinHeap<Prunable>()
  const inner = spec.type === 'inner'
  let w = Number.NEGATIVE_INFINITY
  let applied = -1
  let seq = 0

  const late = (d: Data<unknown, unknown>) =>
    ctx.late({ _tag: 'Late', value: d.value, time: d.time, key: d.key, pos: d.pos, watermark: w, stage: 'temporalJoin', windows: [] })

  /** The row of `key` as of `time`: the last version from at or before it. */
  const asOf = (key: Key, time: number): unknown => {
    const h = versions.get(key)
    if (h === undefined) return undefined
    for (let i = h.length - 1; i >= 0; i--) if (h[i].from <= time) return h[i].deleted ? undefined : h[i].value
    return undefined
  }

  /** Drops the versions of `key` no event at or after `w` can see: all before the last one from at or before `w`, and that one too if it is a delete. */
  const prune = (key: Key) => {
    const h = versions.get(key)
    if (h === undefined) return
    let current = -1
    while (current + 1 < h.length && h[current + 1].from <= w) current++
    if (current < 0) return
    const drop = h[current].deleted ? current + 1 : current
    if (drop === h.length) versions.delete(key)
    else if (drop > 0) h.splice(0, drop)
  }

  return {
    left(d) {
      if (d.time < w) return late(d)
      const s = seq++
      waiting.push(d.time, s, { value: d.value, time: d.time, key: d.key as Key, pos: d.pos, seq: s })
    },
    right(d) {
      const c = d.value
      const bad = notAChange(c)
      if (bad !== undefined) return ctx.deadLetter(deadLetter('user', 'temporalJoin', d.pos, bad, c))
      if (c.offset !== undefined) {
        if (c.offset <= applied) return
        applied = c.offset
      }
      if (d.time < w) return late(d)
      const v: Version = { from: d.time, value: c.after, deleted: c.op === 'delete' }
      const h = versions.get(c.key)
      if (h === undefined) versions.set(c.key, [v])
      else {
        // After every version from at or before it: of two at one time, the later change wins.
        let i = h.length
        while (i > 0 && h[i - 1].from > v.from) i--
        h.splice(i, 0, v)
      }
      // Once the watermark reaches this version, the one before it (or this one, a delete) is unseen.
      const s = seq++
      prunable.push(v.from, s, { key: c.key, at: v.from, seq: s })
    },
    watermark(next) {
      w = next
      // Every version valid at an event's time has come once the watermark is past that time.
      while (waiting.peek() < w) {
        const e = waiting.pop()
        const right = asOf(e.key, e.time)
        if (right === undefined && inner) continue
        emit({ _tag: 'Data', value: { left: e.value, right }, time: e.time, key: e.key, pos: e.pos })
      }
      while (prunable.size > 0 && prunable.peek() <= w) prune(prunable.pop().key)
    },
    snapshot: (): TemporalJoinState => ({
      watermark: Number.isFinite(w) ? w : null,
      offset: applied,
      seq,
      versions: [...versions].map(([k, h]) => [k, [...h]]),
      waiting: [...waiting.values()],
      prunable: [...prunable.values()],
    }),
    restore(state) {
      const s = state as TemporalJoinState
      w = s.watermark ?? Number.NEGATIVE_INFINITY
      applied = s.offset
      seq = s.seq
      versions.clear()
      for (const [k, h] of s.versions) versions.set(k, [...h])
      waiting.clear()
      for (const e of s.waiting) waiting.push(e.time, e.seq, e)
      prunable.clear()
      for (const p of s.prunable) prunable.push(p.at, p.seq, p)
    },
  }
}
