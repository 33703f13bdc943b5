import { describe, expect, it } from 'vitest'
import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy, tap } from '../../dsl/stages.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import type { Stream } from '../../dsl/stream.ts'
import { QueryIndex } from './queryIndex.ts'
import { matchQueries } from '../../dsl/matchQueries.ts'

interface Trade {
  readonly symbol: string
  readonly side: 'buy' | 'sell'
  readonly qty: number
}

describe('QueryIndex', () => {
  it('matches equality conditions on top-level fields plus the predicate', () => {
    const idx = new QueryIndex<Trade>()
    idx.add('big-ibm', { where: { symbol: 'IBM' }, predicate: (t) => t.qty > 1000 })
    idx.add('ibm-sells', { where: { symbol: 'IBM', side: 'sell' } })
    idx.add('all-buys', { where: { side: 'buy' } })
    idx.add('everything', {})
    expect(idx.match({ symbol: 'IBM', side: 'sell', qty: 5000 }).sort()).toEqual(['big-ibm', 'everything', 'ibm-sells'])
    expect(idx.match({ symbol: 'IBM', side: 'buy', qty: 10 }).sort()).toEqual(['all-buys', 'everything'])
    expect(idx.match({ symbol: 'MSFT', side: 'sell', qty: 10 })).toEqual(['everything'])
  })

  it('removes queries and replaces a query added again under the same id', () => {
    const idx = new QueryIndex<Trade>()
    idx.add(1, { where: { symbol: 'IBM' } })
    idx.add(2, { where: { symbol: 'IBM' } })
    idx.add(3, { where: { symbol: 'IBM' } })
    expect(idx.remove(1)).toBe(true)
    expect(idx.remove(1)).toBe(false)
    expect(idx.match({ symbol: 'IBM', side: 'buy', qty: 1 }).sort()).toEqual([2, 3])
    idx.add(2, { where: { symbol: 'MSFT' } })
    expect(idx.match({ symbol: 'IBM', side: 'buy', qty: 1 })).toEqual([3])
    expect(idx.match({ symbol: 'MSFT', side: 'buy', qty: 1 })).toEqual([2])
    expect(idx.size).toBe(2)
  })

  it('compares with ===, so 1 does not match "1", and rejects a NaN condition that could never match', () => {
    const idx = new QueryIndex<{ v: unknown; w: unknown }>()
    idx.add('one', { where: { v: 1 } as never })
    idx.add('zero', { where: { v: 'x', w: 0 } as never })
    expect(idx.match({ v: '1', w: 0 })).toEqual([])
    expect(idx.match({ v: 1, w: 0 })).toEqual(['one'])
    expect(idx.match({ v: 'x', w: -0 })).toEqual(['zero'])
    expect(idx.match({ v: Number.NaN, w: Number.NaN })).toEqual([])
    expect(() => idx.add('nan', { where: { v: Number.NaN } as never })).toThrow(/where.v is NaN, which equals nothing/)
  })

  it('rejects conditions that are not scalars, naming the query and the field', () => {
    const idx = new QueryIndex<{ v: unknown }>()
    expect(() => idx.add('q', { where: { v: { nested: 1 } } as never })).toThrow(/QueryIndex.add: query 'q': where.v must be a string, number, boolean or null/)
  })

  it('reports a throwing predicate and treats it as no match', () => {
    const idx = new QueryIndex<Trade>()
    idx.add('bad', {
      where: { symbol: 'IBM' },
      predicate: () => {
        throw new Error('boom')
      },
    })
    const errors: string[] = []
    expect(idx.match({ symbol: 'IBM', side: 'buy', qty: 1 }, (m) => errors.push(m))).toEqual([])
    expect(errors).toEqual(["query 'bad': boom"])
  })
})

describe('matchQueries stage', () => {
  const trades: Trade[] = [
    { symbol: 'IBM', side: 'buy', qty: 100 },
    { symbol: 'MSFT', side: 'sell', qty: 200 },
    { symbol: 'IBM', side: 'sell', qty: 300 },
    { symbol: 'IBM', side: 'buy', qty: 400 },
  ]

  it('emits each event with the ids of the queries registered when it passes, also after adds and removes mid-stream', async () => {
    const idx = new QueryIndex<Trade>()
    idx.add('ibm', { where: { symbol: 'IBM' } })
    let seen = 0
    const p = pipeline({}, (s: Stream<Trade>) =>
      pipe(
        s,
        // Changes the queries while the stream runs: after the second trade, one query in, one out.
        tap(() => {
          if (++seen === 3) {
            idx.remove('ibm')
            idx.add('sells', { where: { side: 'sell' } })
          }
        }),
        keyBy((t) => t.symbol),
        matchQueries(idx),
      ),
    )
    const out = await lastValueFrom(from(trades).pipe(compile(p), toArray()))
    expect(out.map((h) => [h.event.qty, h.ids])).toEqual([
      [100, ['ibm']],
      [300, ['sells']],
    ])
  })

  it('keeps unmatched events when asked, and sends a throwing predicate to dead letters', async () => {
    const idx = new QueryIndex<Trade>()
    idx.add('odd', {
      predicate: (t) => {
        if (t.qty === 200) throw new Error('no')
        return t.qty === 300
      },
    })
    const dead: DeadLetter[] = []
    const p = pipeline({}, (s: Stream<Trade>) => pipe(s, matchQueries(idx, { keepUnmatched: true })))
    const out = await lastValueFrom(from(trades).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out.map((h) => h.ids)).toEqual([[], [], ['odd'], []])
    expect(dead.map((d) => [d.reason, d.stage, d.pos, d.message])).toEqual([['user', 'matchQueries', 1, "query 'odd': no"]])
  })

  it('sends an event that is not an object to dead letters and goes on', async () => {
    const idx = new QueryIndex<Trade>()
    idx.add('all', {})
    const dead: DeadLetter[] = []
    const p = pipeline({}, (s: Stream<Trade>) => pipe(s, matchQueries(idx)))
    const input = [trades[0], null as unknown as Trade, trades[1]]
    const out = await lastValueFrom(from(input).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out.map((h) => h.event)).toEqual([trades[0], trades[1]])
    expect(dead.map((d) => [d.stage, d.pos, d.message])).toEqual([['matchQueries', 1, 'an event must be an object, got null']])
  })
})
