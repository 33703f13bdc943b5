import type { Change } from './change.ts'
import { operatorNode, stream, type Key, type Stream } from './stream.ts'
import type { Table } from '../operators/tables/Table.ts'

export interface TableSpec {
  readonly into: Table<Key, unknown> | undefined
}

/**
 * Materializes a changelog stream into a table (latest value per key; `delete` removes) and
 * continues as the table's own changelog, keyed by the change's key: only changes that altered the
 * table, each with `before` filled from the table. Repeats (a change whose `offset` is not above the
 * last applied offset) and deletes of absent keys are dropped, so redelivery changes nothing.
 *
 * With `into`, the rows live in that `Table`, which can be queried, followed (`changes`) and waited
 * on (`waitFor`) from outside the pipeline while it runs; give each run its own `Table`.
 *
 * @example
 * const prices = pipe(s, map((p: Price) => upsert(p.sku, p.amount)), table())
 */
export function table<K extends Key, V>(options: { into?: Table<K, V> } = {}): (s: Stream<Change<K, V>, unknown>) => Stream<Change<K, V>, K> {
  const spec: TableSpec = { into: options.into as Table<Key, unknown> | undefined }
  return (s) => stream(operatorNode('Table', options.into ? 'table(into)' : 'table', [s.node], spec))
}
