import { Observable } from 'rxjs'
import { notAChange, type Change } from '../../dsl/change.ts'
import { deadLetter } from '../../dsl/sides.ts'
import type { Data, Element } from '../../dsl/element.ts'
import type { TableJoinSpec } from '../../dsl/joins.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import { stageSubscriber } from '../core/subscriber.ts'
import { fromMachine2, type Machine2 } from './twoInputs.ts'

interface TableJoinState {
  readonly offset: number
  readonly rows: Array<[Key, unknown]>
}

/**
 * Stream-table enrichment against a changelog input: the table side folds changes into a Map
 * (repeats by offset ignored), the stream side reads it. Both sides come from one source, so the
 * interleaving, and with it each event's view of the table, is the source order.
 */
export function tableJoinMachine(
  spec: TableJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<unknown, Change<Key, unknown>> {
  const rows = new Map<Key, unknown>()
  const inner = spec.type === 'inner'
  let applied = -1
  return {
    left(d) {
      const right = rows.get(d.key as Key)
      if (right === undefined && inner) return
      emit({ _tag: 'Data', value: { left: d.value, right }, time: d.time, key: d.key, pos: d.pos })
    },
    right(d) {
      const c = d.value
      const bad = notAChange(c)
      if (bad !== undefined) return ctx.deadLetter(deadLetter('user', 'tableJoin', d.pos, bad, c))
      if (c.offset !== undefined) {
        if (c.offset <= applied) return
        applied = c.offset
      }
      if (c.op === 'upsert') rows.set(c.key, c.after)
      else rows.delete(c.key)
    },
    watermark() {},
    snapshot: (): TableJoinState => ({ offset: applied, rows: [...rows] }),
    restore(state) {
      const s = state as TableJoinState
      rows.clear()
      for (const [k, v] of s.rows) rows.set(k, v)
      applied = s.offset
    },
  }
}

/** Interprets a `TableJoin` node: against a standalone table (one input) or a changelog (two inputs). */
export function tableJoinOperator(
  spec: TableJoinSpec,
  inputs: readonly Observable<Element<unknown>>[],
  ctx: RunContext,
): Observable<Element<unknown>> {
  const table = spec.table
  if (table === undefined)
    return fromMachine2(ctx, inputs[0], inputs[1] as Observable<Element<Change<Key, unknown>>>, (emit) => tableJoinMachine(spec, ctx, emit))
  const inner = spec.type === 'inner'
  return new Observable<Element<unknown>>((subscriber) =>
    inputs[0].subscribe(
      stageSubscriber<Element<unknown>>(subscriber, {
        next(e) {
          if (e._tag === 'Watermark') return subscriber.next(e)
          const right = table.get(e.key as Key)
          if (right === undefined && inner) return
          subscriber.next({ _tag: 'Data', value: { left: e.value, right }, time: e.time, key: e.key, pos: e.pos })
        },
      }),
    ),
  )
}
