import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import type { Change } from './change.ts'
import { pipeline } from './pipeline.ts'
import { filter, keyBy, map } from './stages.ts'
import { lookupJoin, tableJoin, tableTableJoin, windowJoin } from './joins.ts'
import { table } from './tables.ts'
import { Table } from '../operators/tables/Table.ts'

type Ev = { user: string; id: number; kind: 'a' | 'b' }

describe('join types', () => {
  it('need keyed streams with the same key type on both sides (compile errors otherwise)', () => {
    const p = pipeline({ eventTime: (e: Ev) => e.id }, (s) => {
      const byUser = pipe(s, filter((e) => e.kind === 'a'), keyBy((e) => e.user))
      const byId = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.id))
      const otherUser = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.user))
      // @ts-expect-error an unkeyed stream cannot be window-joined
      pipe(s, windowJoin(otherUser, { within: 10 }))
      // @ts-expect-error string keys cannot join number keys
      pipe(byUser, windowJoin(byId, { within: 10 }))
      // @ts-expect-error the table is keyed by number, the stream by string
      pipe(byUser, tableJoin(new Table<number, string>()))
      // @ts-expect-error an unkeyed stream cannot be enriched by key
      pipe(s, lookupJoin(async (k: string) => k.length))
      const counts = pipe(s, map((e): Change<number, number> => ({ op: 'upsert', key: e.id, after: 1 })), table())
      const names = pipe(s, map((e): Change<string, string> => ({ op: 'upsert', key: e.user, after: e.user })))
      // @ts-expect-error table-table joins need the same key type
      pipe(counts, tableTableJoin(names))
      // A foreign key may be missing (a nullable column), but must be of the right table's key type.
      const orders = pipe(s, map((e): Change<number, { user?: string }> => ({ op: 'upsert', key: e.id, after: {} })))
      pipe(orders, tableTableJoin(names, { type: 'left', foreignKey: (o: { user?: string }) => o.user }))
      // @ts-expect-error the right table is keyed by string, the foreign key is a number
      pipe(orders, tableTableJoin(names, { type: 'left', foreignKey: (o: { user?: string }) => o.user?.length }))
      return pipe(byUser, windowJoin(otherUser, { within: 10, type: 'left' }))
    })
    expect(p._tag).toBe('Pipeline')
  })

  it('type a missing side as undefined, per join type', () => {
    const p = pipeline({ eventTime: (e: Ev) => e.id }, (s) => {
      const a = pipe(s, keyBy((e) => e.user))
      const inner = pipe(a, windowJoin(a, { within: 1 }), map((j) => j.left.id + j.right.id))
      // @ts-expect-error a left join's right side may be missing
      pipe(a, windowJoin(a, { within: 1, type: 'left' }), map((j) => j.right.id))
      // @ts-expect-error an outer join's left side may be missing
      pipe(a, windowJoin(a, { within: 1, type: 'outer' }), map((j) => j.left.id))
      pipe(a, tableJoin(new Table<string, number>()), map((j) => j.right + 1))
      // @ts-expect-error a left table join's value may be missing
      pipe(a, tableJoin(new Table<string, number>(), { type: 'left' }), map((j) => j.right + 1))
      return inner
    })
    expect(p.output.node).toMatchObject({ _tag: 'Map', input: { _tag: 'Operator', kind: 'WindowJoin', spec: { within: 1, type: 'inner' } } })
  })
})
