import { describe, expect, it } from 'vitest'
import { assignPartitions, globToRegExp, partitionOf } from './partition.ts'

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

describe('assignPartitions', () => {
  it('is balanced: each member owns floor(n/m) or ceil(n/m) partitions, every partition one owner', () => {
    for (const n of [1, 2, 3, 4, 7, 16])
      for (const members of [['a'], ['a', 'b'], ['a', 'b', 'c'], ['w1', 'w2', 'w3', 'w4', 'w5']]) {
        const owners = assignPartitions(n, members)
        expect(owners).toHaveLength(n)
        const load = members.map((m) => owners.filter((o) => o === m).length)
        expect(load.reduce((x, y) => x + y, 0)).toBe(n)
        for (const l of load) expect([Math.floor(n / members.length), Math.ceil(n / members.length)]).toContain(l)
      }
  })

  it('is computed alike from the member list in any order (every member agrees)', () => {
    expect(assignPartitions(8, ['c', 'a', 'b'])).toEqual(assignPartitions(8, ['a', 'b', 'c']))
    expect(assignPartitions(8, ['a', 'a', 'b'])).toEqual(assignPartitions(8, ['a', 'b']))
  })

  it('is sticky: a member leaving moves its partitions and few others', () => {
    let moved = 0
    let total = 0
    for (const gone of ['w1', 'w2', 'w3', 'w4']) {
      const before = assignPartitions(12, ['w1', 'w2', 'w3', 'w4'])
      const after = assignPartitions(12, ['w1', 'w2', 'w3', 'w4'].filter((m) => m !== gone))
      for (let p = 0; p < 12; p++) if (before[p] !== gone) (total++, before[p] !== after[p] && moved++)
    }
    // Of the 36 partitions whose owner stayed, at most a few change hands to rebalance.
    expect(moved).toBeLessThanOrEqual(total / 4)
  })

  it('leaves every partition unowned when there is no member', () => {
    expect(assignPartitions(3, [])).toEqual([undefined, undefined, undefined])
  })
})
