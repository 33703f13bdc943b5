import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { remove, upsert, type Change } from '../../dsl/change.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy, map } from '../../dsl/stages.ts'
import { tableJoin } from '../../dsl/joins.ts'
import { table } from '../../dsl/tables.ts'
import { Table } from '../tables/Table.ts'
import { runPipeline } from '../testing/runPipeline.ts'

type Rec = { kind: 'price'; sku: string; amount: number | null } | { kind: 'order'; sku: string; qty: number; t: number }

const priceChange = (r: Rec): Change<string, number> =>
  r.kind === 'price' && r.amount !== null ? upsert(r.sku, r.amount) : remove<string, number>(r.sku)

const enrich = (type: 'inner' | 'left') =>
  pipeline({ eventTime: (r: Rec) => (r.kind === 'order' ? r.t : 0) }, (s) => {
    const prices = pipe(s, filter((r) => r.kind === 'price'), map(priceChange), table())
    const orders = pipe(s, filter((r): r is Extract<Rec, { kind: 'order' }> => r.kind === 'order'), keyBy((o) => o.sku))
    return pipe(orders, tableJoin(prices, { type }), map((j) => [j.left.qty, j.right ?? null] as const))
  })

describe('tableJoin', () => {
  const input: Rec[] = [
    { kind: 'order', sku: 'x', qty: 1, t: 1 },
    { kind: 'price', sku: 'x', amount: 10 },
    { kind: 'order', sku: 'x', qty: 2, t: 2 },
    { kind: 'price', sku: 'x', amount: 12 },
    { kind: 'order', sku: 'x', qty: 3, t: 3 },
    { kind: 'price', sku: 'x', amount: null },
    { kind: 'order', sku: 'x', qty: 4, t: 4 },
  ]

  it('inner: joins each event with the value at the moment it is processed, and drops absent keys', async () => {
    const r = await runPipeline(enrich('inner'), input)
    expect(r.values).toEqual([
      [2, 10],
      [3, 12],
    ])
  })

  it('left: keeps events whose key is absent, with right undefined', async () => {
    const r = await runPipeline(enrich('left'), input)
    expect(r.values).toEqual([
      [1, null],
      [2, 10],
      [3, 12],
      [4, null],
    ])
  })

  it('enriches from a standalone table read at processing time', async () => {
    const airports = Table.from([upsert('LAS', 'Las Vegas'), upsert('OAK', 'Oakland')])
    const p = pipeline({ eventTime: (f: { origin: string; t: number }) => f.t }, (s) =>
      pipe(s, keyBy((f) => f.origin), tableJoin(airports, { type: 'left' }), map((j) => j.right ?? '?')),
    )
    const r = await runPipeline(p, [
      { origin: 'LAS', t: 1 },
      { origin: 'XXX', t: 2 },
      { origin: 'OAK', t: 3 },
    ])
    expect(r.values).toEqual(['Las Vegas', '?', 'Oakland'])
    expect(r.elements.at(-1)).toEqual({ _tag: 'Watermark', time: Number.POSITIVE_INFINITY })
  })

  it('rejects an unknown join type at definition time', () => {
    expect(() => tableJoin(new Table<string, number>(), { type: 'outer' as 'left' })).toThrow(/tableJoin: type must be 'inner' or 'left'/)
  })
})
