import { notAChange, type Change } from '../../dsl/change.ts'
import { deadLetter } from '../../dsl/sides.ts'
import type { RunContext } from '../core/context.ts'
import type { Data } from '../../dsl/element.ts'
import type { Key } from '../../dsl/stream.ts'
import type { Machine } from '../core/machine.ts'
import { Table, type TableSnapshot } from './Table.ts'

/**
 * The `table()` stage's machine: applies each change to the table and passes on the change it made
 * (if any), keyed by the change's key, with the input's time and position. An input that is not a
 * change goes to dead letters.
 */
export function tableMachine(
  table: Table<Key, unknown>,
  ctx: RunContext,
  emit: (d: Data<Change<Key, unknown>, Key>) => void,
): Machine<Change<Key, unknown>, unknown> {
  return {
    data(d) {
      const bad = notAChange(d.value)
      if (bad !== undefined) return ctx.deadLetter(deadLetter('user', 'table', d.pos, bad, d.value))
      const out = table.apply(d.value)
      if (out !== undefined) emit({ _tag: 'Data', value: out, time: d.time, key: out.key, pos: d.pos })
    },
    watermark() {},
    snapshot: () => table.snapshot(),
    restore: (s) => table.restore(s as TableSnapshot<Key, unknown>),
  }
}
