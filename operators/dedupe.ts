import type { Data } from '../dsl/element.ts'
import type { DedupeSpec } from '../dsl/dedupe.ts'
import { deadLetter, errorMessage } from '../dsl/sides.ts'
import type { Key } from '../dsl/stream.ts'
import type { RunContext } from './core/context.ts'
import type { Machine } from './core/machine.ts'

/** Snapshot of the ids remembered, `[id, firstSeen]` in first-seen order. */
type DedupeState = Array<[Key, number]>

/**
 * The `dedupe` machine: remembers each id with the scheduler time it was first seen. Ids are
 * remembered in first-seen order in a FIFO beside the Map (scheduler time never goes back), so
 * forgetting expired ids is a pop from the front, with no timer and no scan.
 */
export function dedupeMachine(spec: DedupeSpec, ctx: RunContext, emit: (d: Data<unknown, unknown>) => void): Machine<unknown, unknown> {
  const { by, ttl } = spec
  const seen = new Map<Key, number>()
  let ids: Key[] = []
  let times: number[] = []
  let head = 0

  const expire = (now: number) => {
    while (head < ids.length && now - times[head] >= ttl) {
      seen.delete(ids[head])
      head++
    }
    if (head === ids.length) {
      ids.length = 0
      times.length = 0
      head = 0
    } else if (head > 4096 && head * 2 > ids.length) {
      ids = ids.slice(head)
      times = times.slice(head)
      head = 0
    }
  }

  const remember = (id: Key, at: number) => {
    seen.set(id, at)
    ids.push(id)
    times.push(at)
  }

  return {
    data(d) {
      let id: Key
      try {
        id = by(d.value)
      } catch (e) {
        ctx.deadLetter(deadLetter('user', 'dedupe', d.pos, errorMessage(e), d.value))
        return
      }
      // Not a key (say `undefined` for a missing field): every such event would be a repeat of the first.
      if ((typeof id !== 'string' && typeof id !== 'number') || Number.isNaN(id)) {
        ctx.deadLetter(deadLetter('user', 'dedupe', d.pos, `id must be a string or a number, got ${Number.isNaN(id) ? 'NaN' : typeof id}`, d.value))
        return
      }
      const now = ctx.scheduler.now()
      expire(now)
      if (seen.has(id)) return
      remember(id, now)
      emit(d)
    },
    watermark() {},
    snapshot: (): DedupeState => {
      const out: DedupeState = []
      for (let i = head; i < ids.length; i++) out.push([ids[i], times[i]])
      return out
    },
    restore(state) {
      seen.clear()
      ids = []
      times = []
      head = 0
      for (const [id, at] of state as DedupeState) remember(id, at)
    },
  }
}
