import { describe, expect, it } from 'vitest'
import { globToRegExp, partitionOf } from './partition.ts'

describe('partitionOf', () => {
  it('is stable and within range, and spreads keys over every partition', () => {
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 1000; i++) {
      const p = partitionOf(`k${i}`, 4)
      expect(p).toBe(partitionOf(`k${i}`, 4))
      counts[p]++
    }
    for (const c of counts) expect(c).toBeGreaterThan(150)
  })

  it('treats a number key as its string form', () => {
    expect(partitionOf(42, 7)).toBe(partitionOf('42', 7))
  })
})

describe('globToRegExp', () => {
  it('matches one dot-separated segment with *, any depth with **, one character with ?', () => {
    expect(globToRegExp('orders.*').test('orders.eu')).toBe(true)
    expect(globToRegExp('orders.*').test('orders.eu.late')).toBe(false)
    expect(globToRegExp('orders.**').test('orders.eu.late')).toBe(true)
    expect(globToRegExp('orders.?u').test('orders.eu')).toBe(true)
    expect(globToRegExp('orders.*').test('payments.eu')).toBe(false)
  })

  it('takes regex metacharacters literally', () => {
    expect(globToRegExp('a+b.(x)').test('a+b.(x)')).toBe(true)
    expect(globToRegExp('a+b').test('aab')).toBe(false)
  })
})
