import { describe, expect, it } from 'vitest'
import { DueQueue } from './DueQueue.ts'

const item = (name: string) => ({ name, due: Number.NaN })
type Item = ReturnType<typeof item>

/** Every bucket popped, as lists of names with their time. */
const drain = (q: DueQueue<Item>): string[] => {
  const out: string[] = []
  while (q.hasDue(Number.POSITIVE_INFINITY)) {
    const due = q.first
    out.push(`${due}: ${q.pop().map((x) => x.name).join(' ')}`)
  }
  return out
}

describe('DueQueue', () => {
  it('pops in due order, items due together in the order they were added', () => {
    const q = new DueQueue<{ due: number; id: string }>()
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => ({ due: 0, id }))
    q.add(30, a)
    q.add(10, b)
    q.add(30, c)
    q.add(30, d)
    expect(q.hasDue(9)).toBe(false)
    expect(q.hasDue(10)).toBe(true)
    expect(q.pop().map((x) => x.id)).toEqual(['b'])
    expect(q.first).toBe(30)
    const at30: string[] = []
    while (q.hasDue(30)) at30.push(...q.pop().map((x) => x.id))
    expect(at30).toEqual(['a', 'c', 'd'])
    expect(q.hasDue(Number.POSITIVE_INFINITY)).toBe(false)
  })

  it('adds in a row for one time share a bucket, until it is popped', () => {
    const q = new DueQueue<{ due: number; id: string }>()
    const [a, b, c] = ['a', 'b', 'c'].map((id) => ({ due: 0, id }))
    q.add(20, a)
    q.add(20, b)
    expect(q.pop().map((x) => x.id)).toEqual(['a', 'b'])
    // The popped bucket is being acted on: a new add for its time starts another.
    q.add(20, c)
    expect(q.pop().map((x) => x.id)).toEqual(['c'])
    expect(Number.isNaN(q.first)).toBe(true)
  })

  it('lists each live item once, skipping entries left behind by rescheduling', () => {
    const q = new DueQueue<{ due: number; id: string }>()
    const a = { due: 0, id: 'a' }
    const b = { due: 0, id: 'b' }
    q.add(10, a)
    q.add(20, b)
    q.add(20, a)
    q.add(10, a)
    expect(q.live().map((x) => `${x.id}@${x.due}`)).toEqual(['a@10', 'b@20'])
  })

  it('without byTime, an add for a time after an add for another starts a second bucket for its time', () => {
    const q = new DueQueue<Item>()
    for (const [due, name] of [[2, 'a'], [2, 'b'], [1, 'c'], [2, 'd']] as const) q.add(due, item(name))
    expect(drain(q)).toEqual(['1: c', '2: a b', '2: d'])
  })

  it('byTime: adds of interleaved times join the bucket of their time, in the order they were added', () => {
    const q = new DueQueue<Item>({ byTime: true })
    // Two keys' first events in hopping windows: each opens a window per time, the second the same times again.
    for (const [due, name] of [[1, 'a1'], [2, 'a2'], [3, 'a3'], [1, 'b1'], [2, 'b2'], [3, 'b3']] as const) q.add(due, item(name))
    expect(drain(q)).toEqual(['1: a1 b1', '2: a2 b2', '3: a3 b3'])
  })

  describe('edge cases', () => {
    it('byTime: an add for a time whose bucket is being acted on starts a new bucket, popped after it', () => {
      const q = new DueQueue<Item>({ byTime: true })
      q.add(1, item('a'))
      q.add(2, item('b'))
      const first = q.pop()
      q.add(1, item('c'))
      q.add(2, item('d'))
      expect(first.map((x) => x.name)).toEqual(['a'])
      expect(drain(q)).toEqual(['1: c', '2: b d'])
    })

    it('byTime: after a restore (clear), no add joins a bucket from before it', () => {
      const q = new DueQueue<Item>({ byTime: true })
      q.add(1, item('a'))
      q.add(2, item('b'))
      q.clear()
      q.add(2, item('c'))
      q.add(1, item('d'))
      q.add(2, item('e'))
      expect(drain(q)).toEqual(['1: d', '2: c e'])
    })
  })
})
