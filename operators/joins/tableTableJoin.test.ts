import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { remove, upsert, type Change } from '../../dsl/change.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, map } from '../../dsl/stages.ts'
import { tableTableJoin, type JoinType } from '../../dsl/joins.ts'
import { makeContext } from '../core/context.ts'
import { Table } from '../tables/Table.ts'
import { runPipeline } from '../testing/runPipeline.ts'
import type { Stream } from '../../dsl/stream.ts'
import { tableTableJoinMachine } from './tableTableJoin.ts'

type Order = { customer: string; total: number }
type Rec = { side: 'L' | 'R'; c: Change<string, unknown> }
const L = (c: Change<string, unknown>): Rec => ({ side: 'L', c })
const R = (c: Change<string, unknown>): Rec => ({ side: 'R', c })

const pk = (type: JoinType) =>
  pipeline({ eventTime: () => 0 }, (s: import('../../dsl/stream.ts').Stream<Rec>) => {
    const left = pipe(s, filter((r) => r.side === 'L'), map((r) => r.c as Change<string, number>))
    const right = pipe(s, filter((r) => r.side === 'R'), map((r) => r.c as Change<string, string>))
    return pipe(left, tableTableJoin(right, { type }))
  })

/**
 * Runs `changes` (0: left, 1: right) through a left foreign-key join whose left values are the
 * foreign keys; at `cut`, snapshots (through JSON), restores into a fresh machine and goes on.
 */
const runCut = (changes: readonly (readonly [0 | 1, Change<string, string>])[], cut: number | undefined): unknown[] => {
  const out: unknown[] = []
  const mk = () => tableTableJoinMachine({ type: 'left', foreignKey: (v) => v as string }, makeContext(), (d) => out.push(d.value))
  let m = mk()
  changes.forEach(([side, value], pos) => {
    if (pos === cut) {
      const s = JSON.parse(JSON.stringify(m.snapshot!()))
      m = mk()
      m.restore!(s)
    }
    const d = { _tag: 'Data' as const, value, time: pos, key: undefined, pos }
    if (side === 0) m.left(d)
    else m.right(d)
  })
  return out
}

describe('tableTableJoin', () => {
  const input = [L(upsert('k', 1)), R(upsert('k', 'a')), L(upsert('k', 2)), R(upsert('j', 'b')), R(remove('k')), L(remove('k'))]

  it('inner: a row exists while both sides do; the output carries before and after, including deletes', async () => {
    const r = await runPipeline(pk('inner'), input)
    expect(r.values).toEqual([
      { op: 'upsert', key: 'k', after: { left: 1, right: 'a' } },
      { op: 'upsert', key: 'k', before: { left: 1, right: 'a' }, after: { left: 2, right: 'a' } },
      { op: 'delete', key: 'k', before: { left: 2, right: 'a' } },
    ])
  })

  it('left: a row exists while the left side does', async () => {
    const r = await runPipeline(pk('left'), input)
    expect(r.values.map((c) => [c.op, c.key, c.after ?? null])).toEqual([
      ['upsert', 'k', { left: 1, right: undefined }],
      ['upsert', 'k', { left: 1, right: 'a' }],
      ['upsert', 'k', { left: 2, right: 'a' }],
      ['upsert', 'k', { left: 2, right: undefined }],
      ['delete', 'k', null],
    ])
  })

  it('outer: a row exists while either side does', async () => {
    const r = await runPipeline(pk('outer'), input)
    const view = Table.from(r.values)
    expect(view.entries()).toEqual([['j', { left: undefined, right: 'b' }]])
    expect(r.values.filter((c) => c.op === 'delete').map((c) => c.key)).toEqual(['k'])
  })

  it('foreign key: a right change updates every left row that points at it', async () => {
    const p = pipeline({ eventTime: () => 0 }, (s: import('../../dsl/stream.ts').Stream<Rec>) => {
      const orders = pipe(s, filter((r) => r.side === 'L'), map((r) => r.c as Change<string, Order>))
      const customers = pipe(s, filter((r) => r.side === 'R'), map((r) => r.c as Change<string, string>))
      return pipe(orders, tableTableJoin(customers, { type: 'inner', foreignKey: (o: Order) => o.customer }))
    })
    const r = await runPipeline(p, [
      L(upsert('o1', { customer: 'c1', total: 5 })),
      L(upsert('o2', { customer: 'c1', total: 7 })),
      R(upsert('c1', 'Ada')),
      R(upsert('c1', 'Ada L.')),
      L(upsert('o2', { customer: 'c2', total: 7 })),
      R(remove('c1')),
    ])
    expect(r.values.map((c) => [c.op, c.key, c.after?.right ?? null])).toEqual([
      ['upsert', 'o1', 'Ada'],
      ['upsert', 'o2', 'Ada'],
      ['upsert', 'o1', 'Ada L.'],
      ['upsert', 'o2', 'Ada L.'],
      ['delete', 'o2', null],
      ['delete', 'o1', null],
    ])
  })

  it('ignores a repeated change (offset already applied on that side)', async () => {
    const r = await runPipeline(pk('inner'), [
      L(upsert('k', 1, undefined, 0)),
      R(upsert('k', 'a', undefined, 1)),
      L(upsert('k', 2, undefined, 2)),
      L(upsert('k', 1, undefined, 0)),
    ])
    expect(Table.from(r.values).get('k')).toEqual({ left: 2, right: 'a' })
    expect(r.values).toHaveLength(2)
  })

  it('sends a throwing foreignKey to dead letters and goes on', async () => {
    const dead: string[] = []
    const out: unknown[] = []
    const m = tableTableJoinMachine(
      {
        type: 'left',
        foreignKey: (v) => {
          if (v === 'bad') throw new Error('no fk')
          return String(v)
        },
      },
      makeContext({ onDeadLetter: (d) => dead.push(`${d.reason}:${d.stage}:${d.message}`) }),
      (d) => out.push(d.value),
    )
    m.left({ _tag: 'Data', value: upsert('a', 'bad'), time: 0, key: undefined, pos: 0 })
    m.left({ _tag: 'Data', value: upsert('b', 'x'), time: 0, key: undefined, pos: 1 })
    expect(dead).toEqual(['user:tableTableJoin.foreignKey:no fk'])
    expect(out).toEqual([{ op: 'upsert', key: 'b', after: { left: 'x', right: undefined } }])
  })

  it('snapshot mid-stream, restore into a fresh machine and continue: same output as uninterrupted', () => {
    const changes: Array<[0 | 1, Change<string, string>]> = [
      [0, upsert('o1', 'c1')],
      [0, upsert('o2', 'c1')],
      [1, upsert('c1', 'Ada')],
      [0, upsert('o3', 'c2')],
      [1, upsert('c2', 'Bob')],
      [1, remove('c1')],
      [0, remove('o3')],
    ]
    expect(runCut(changes, 3)).toEqual(runCut(changes, undefined))
  })

  it('equal keys: a snapshot lists each table in the order its keys entered it, and restoring it gives the same snapshot', () => {
    const m = tableTableJoinMachine({ type: 'outer', foreignKey: undefined }, makeContext(), () => {})
    const feed = (side: 0 | 1, c: Change<string, unknown>, pos: number) => {
      const d = { _tag: 'Data' as const, value: c, time: 0, key: undefined, pos }
      if (side === 0) m.left(d)
      else m.right(d)
    }
    feed(1, upsert('b', 'rb'), 0)
    feed(0, upsert('a', 1), 1)
    feed(0, upsert('b', 2), 2)
    feed(1, upsert('a', 'ra'), 3)
    feed(0, remove('a'), 4)
    feed(0, upsert('a', 3), 5)
    feed(1, upsert('b', 'rb2'), 6)
    const s = m.snapshot!()
    expect(s).toEqual({ left: [['b', 2], ['a', 3]], right: [['b', 'rb2'], ['a', 'ra']], leftOffset: -1, rightOffset: -1 })
    const again = tableTableJoinMachine({ type: 'outer', foreignKey: undefined }, makeContext(), () => {})
    again.restore!(JSON.parse(JSON.stringify(s)))
    expect(again.snapshot!()).toEqual(s)
  })

  it('foreign key: a left row whose key becomes null or undefined has no right side (left join) or no row (inner)', async () => {
    type Order = { customer?: string | null; total: number }
    type Rec = { side: 'L' | 'R'; c: Change<string, unknown> }
    const joined = (type: 'left' | 'inner') =>
      pipeline({ eventTime: () => 0 }, (s: Stream<Rec>) => {
        const orders = pipe(s, filter((r: Rec) => r.side === 'L'), map((r: Rec) => r.c as Change<string, Order>))
        const customers = pipe(s, filter((r: Rec) => r.side === 'R'), map((r: Rec) => r.c as Change<string, string>))
        return pipe(orders, tableTableJoin(customers, { type, foreignKey: (o: Order) => o.customer as string }))
      })
    const log: Rec[] = [
      { side: 'R', c: upsert('c1', 'Ada') },
      { side: 'L', c: upsert('o1', { customer: 'c1', total: 5 }) },
      { side: 'L', c: upsert('o1', { total: 7 }) },
      { side: 'L', c: upsert('o2', { customer: null, total: 1 }) },
      // A right change no longer reaches o1.
      { side: 'R', c: upsert('c1', 'Ada L.') },
    ]
    const left = await runPipeline(joined('left'), log)
    expect(left.dead).toEqual([])
    expect(Table.from(left.values).entries()).toEqual([
      ['o1', { left: { total: 7 }, right: undefined }],
      ['o2', { left: { customer: null, total: 1 }, right: undefined }],
    ])
    const inner = await runPipeline(joined('inner'), log)
    expect(Table.from(inner.values).entries()).toEqual([])
  })

  it('foreign key: a key that is neither a string, a number nor null goes to dead letters, the row unchanged', async () => {
    const dead: string[] = []
    const m = tableTableJoinMachine({ type: 'left', foreignKey: (v) => (v as { fk: unknown }).fk as string }, makeContext({ onDeadLetter: (d) => dead.push(`${d.pos}:${d.message}`) }), () => {})
    m.left({ _tag: 'Data', value: upsert('a', { fk: { id: 1 } }), time: 0, key: undefined, pos: 0 })
    expect(dead).toEqual(['0:foreign key must be a string or a number (or null), got object'])
  })

  it('foreign key: restored from a snapshot, a right change updates the left rows in the same order as an uninterrupted run', () => {
    const changes: Array<[0 | 1, Change<string, string>]> = [
      [0, upsert('a', 'x')],
      [0, upsert('b', 'x')],
      // Re-links a: x's rows are now b, a, while the left table still lists a, b.
      [0, upsert('a', 'x')],
      [1, upsert('x', 'X')],
    ]
    expect(runCut(changes, 3)).toEqual(runCut(changes, undefined))
  })

  it('sends an input that is not a change to dead letters, and applies nothing', async () => {
    const dead: string[] = []
    const out: unknown[] = []
    const m = tableTableJoinMachine({ type: 'outer', foreignKey: undefined }, makeContext({ onDeadLetter: (d) => dead.push(`${d.stage}:${d.pos}:${d.message}`) }), (d) => out.push(d.value))
    m.left({ _tag: 'Data', value: { op: 'update', key: 'a', after: 1 } as unknown as Change<string, unknown>, time: 0, key: undefined, pos: 0 })
    m.right({ _tag: 'Data', value: null as unknown as Change<string, unknown>, time: 0, key: undefined, pos: 1 })
    expect(out).toEqual([])
    expect(dead).toEqual(["tableTableJoin:0:a change's op must be 'upsert' or 'delete', got \"update\"", 'tableTableJoin:1:a change must be an object, got null'])
  })
})
