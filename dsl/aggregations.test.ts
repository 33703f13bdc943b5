import { describe, expect, it } from 'vitest'
import { MonoidSum } from 'fp-ts/lib/number.js'
import * as S from 'fp-ts/lib/string.js'
import { aggregator, count, fromMonoid, max, mean, min, sum, type Aggregator } from './aggregations.ts'
import { compileAggregator } from '../operators/windows/aggregator.ts'

const fold = <A, Acc, R>(agg: Aggregator<A, Acc, R>, xs: readonly A[]): R => agg.result(xs.reduce((acc, x) => agg.add(acc, x), agg.init()))
const xs = [3, -1, 4, 1, 5]
const id = (x: number) => x

describe('aggregators', () => {
  it('count, sum, min, max and mean fold a window', () => {
    expect(fold(count, xs)).toBe(5)
    expect(fold(sum(id), xs)).toBe(12)
    expect(fold(min(id), xs)).toBe(-1)
    expect(fold(max(id), xs)).toBe(5)
    expect(fold(mean(id), xs)).toBe(2.4)
  })

  it('merging two halves equals folding the whole (what sessions rely on)', () => {
    for (const agg of [count, sum(id), min(id), max(id), mean(id)] as Aggregator<number, unknown, number>[]) {
      const left = xs.slice(0, 2).reduce((acc, x) => agg.add(acc, x), agg.init())
      const right = xs.slice(2).reduce((acc, x) => agg.add(acc, x), agg.init())
      expect(agg.result(agg.merge!(left, right))).toBe(fold(agg, xs))
    }
  })

  it('adapts fp-ts monoids, with or without a projection', () => {
    expect(fold(fromMonoid(MonoidSum), xs)).toBe(12)
    expect(fold(fromMonoid(S.Monoid, (n: number) => String(n)), xs)).toBe('3-1415')
  })

  it('aggregator() checks its members at once', () => {
    expect(() => aggregator({ init: () => 0, add: (a: number) => a } as never)).toThrow(/^aggregator: expected \{ init, add, result \}/)
  })

  it('a compiled record reads every field before folding any, and builds a record per window', () => {
    const agg = compileAggregator({ n: count, total: sum(id), m: fromMonoid(MonoidSum) })
    let acc = agg.init()
    for (const x of [1, 2]) {
      agg.read(x)
      acc = agg.fold(acc)
    }
    expect(agg.result(acc)).toEqual({ n: 2, total: 3, m: 3 })
    const other = agg.init()
    agg.read(10)
    expect(agg.result(agg.merge(acc, agg.fold(other)))).toEqual({ n: 3, total: 13, m: 13 })
  })

  it('reset empties a compiled accumulator for reuse, in place for a record of aggregations', () => {
    const record = compileAggregator({ n: count, total: sum(id), avg: mean(id) })
    const single = compileAggregator(sum(id))
    for (const [agg, afterReset] of [[record, { n: 1, total: 2, avg: 2 }], [single, 2]] as const) {
      agg.read(7)
      const acc = agg.fold(agg.fold(agg.init()))
      const again = agg.reset(acc)
      if (agg === record) expect(again).toBe(acc)
      agg.read(2)
      expect(agg.result(agg.fold(again))).toEqual(afterReset)
    }
  })
})
