import { describe, expect, it } from 'vitest'
import type { Key } from '../../dsl/stream.ts'
import { JoinBuffer } from './JoinBuffer.ts'

/** The values of key `key`'s events on `side`, in list order. */
const listed = (b: JoinBuffer, key: Key, side: 0 | 1): unknown[] => {
  const out: unknown[] = []
  const k = b.keyNumber(key)
  const first = b.first(k, side)
  for (let s = first; s !== -1; s = b.after(s, first)) out.push(b.value(s))
  return out
}

describe('JoinBuffer', () => {
  it("keeps each key's events per side in arrival order, with their fields", () => {
    const b = new JoinBuffer()
    const s = b.add(b.keyNumber('u'), 0, 'a', 10, 7, 0, false)
    b.add(b.keyNumber('u'), 1, 'b', 11, 8, 1, true)
    b.add(b.keyNumber('u'), 0, 'c', 9, 9, 2, false)
    expect(listed(b, 'u', 0)).toEqual(['a', 'c'])
    expect(listed(b, 'u', 1)).toEqual(['b'])
    expect([b.side(s), b.key(s), b.time(s), b.pos(s), b.seq(s), b.matched(s)]).toEqual([0, 'u', 10, 7, 0, false])
    b.markMatched(s)
    expect(b.matched(s)).toBe(true)
  })

  it('removes from the front, the middle and the end of a list and keeps the rest in order', () => {
    const b = new JoinBuffer()
    const k = b.keyNumber(1)
    const slots = [0, 1, 2, 3, 4].map((i) => b.add(k, 0, i, i, i, i, false))
    b.remove(slots[2])
    b.remove(slots[0])
    b.remove(slots[4])
    expect(listed(b, 1, 0)).toEqual([1, 3])
  })

  it("forgets a key once both its sides are empty, and reuses freed slots and key numbers", () => {
    const b = new JoinBuffer()
    const k = b.keyNumber('x')
    const l = b.add(k, 0, 'l', 0, 0, 0, false)
    const r = b.add(k, 1, 'r', 0, 1, 1, false)
    b.remove(l)
    expect(listed(b, 'x', 1)).toEqual(['r'])
    b.remove(r)
    expect(b.value(r)).toBeUndefined()
    const k2 = b.keyNumber('y')
    expect(k2).toBe(k)
    expect(b.add(k2, 0, 'y', 0, 2, 2, false)).toBe(r)
    expect(b.key(r)).toBe('y')
  })

  it('grows past its first capacity of slots and keys', () => {
    const b = new JoinBuffer()
    for (let i = 0; i < 5000; i++) b.add(b.keyNumber(i % 700), (i & 1) as 0 | 1, i, i, i, i, false)
    expect(listed(b, 3, 1)).toEqual(Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 700 === 3 && (i & 1) === 1))
    b.clear()
    expect(listed(b, 3, 1)).toEqual([])
  })
})
