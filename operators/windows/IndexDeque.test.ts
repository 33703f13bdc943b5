import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IndexDeque } from './IndexDeque.ts'

const contents = (d: IndexDeque<string>): [number, string][] => Array.from({ length: d.size }, (_, k) => [d.indexAt(k), d.at(k)])

describe('IndexDeque', () => {
  it('keeps items in index order, in order or not, as a sorted map would (fixed seed)', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), i: fc.integer({ min: -20, max: 40 }) }),
      fc.record({ op: fc.constant('delete' as const), i: fc.integer({ min: -20, max: 40 }) }),
      fc.record({ op: fc.constant('shift' as const), i: fc.constant(0) }),
      fc.record({ op: fc.constant('clear' as const), i: fc.constant(0) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const d = new IndexDeque<string>()
        const model = new Map<number, string>()
        ops.forEach(({ op, i }, n) => {
          if (op === 'set') {
            d.set(i, `v${n}`)
            model.set(i, `v${n}`)
          } else if (op === 'delete') {
            d.delete(i)
            model.delete(i)
          } else if (op === 'shift' && model.size > 0) {
            const lowest = Math.min(...model.keys())
            expect(d.shift()).toBe(model.get(lowest))
            model.delete(lowest)
          } else if (op === 'clear') {
            d.clear()
            model.clear()
          }
          const sorted = [...model].sort((a, b) => a[0] - b[0])
          expect(contents(d)).toEqual(sorted)
          expect(d.first).toEqual(sorted.length === 0 ? Number.NaN : sorted[0][0])
          expect(d.last).toEqual(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1][0])
          for (const probe of [i - 1, i, i + 1]) {
            expect(d.get(probe)).toBe(model.get(probe))
            expect(d.rank(probe)).toBe(sorted.filter(([k]) => k < probe).length)
          }
        })
      }),
      { seed: 2126, numRuns: 300 },
    )
  })

  describe('edge cases', () => {
    it('in-order use (add past the last, remove the first) keeps wrapping around the same buffer', () => {
      const d = new IndexDeque<string>()
      for (let i = 0; i < 1000; i++) {
        d.set(i, `v${i}`)
        if (i >= 3) expect(d.shift()).toBe(`v${i - 3}`)
      }
      expect(contents(d)).toEqual([[997, 'v997'], [998, 'v998'], [999, 'v999']])
    })
  })
})
