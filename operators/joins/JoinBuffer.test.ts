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

  it('keeps the number of a key left with no events, and reuses freed slots', () => {
    const b = new JoinBuffer()
    const k = b.keyNumber('x')
    const l = b.add(k, 0, 'l', 0, 0, 0, false)
    const r = b.add(k, 1, 'r', 0, 1, 1, false)
    b.remove(l)
    expect(listed(b, 'x', 1)).toEqual(['r'])
    b.remove(r)
    expect(b.value(r)).toBeUndefined()
    expect(b.keyNumber('x')).toBe(k)
    expect(b.add(k, 0, 'again', 0, 2, 2, false)).toBe(r)
    expect(listed(b, 'x', 0)).toEqual(['again'])
  })

  it('forgets keys with no events once they outnumber twice the others, and reuses their numbers', () => {
    const b = new JoinBuffer()
    for (let i = 0; i < 100; i++) b.add(b.keyNumber(`live${i}`), 0, i, 0, i, i, false)
    let seq = 100
    for (let i = 0; i < 1024; i++) b.remove(b.add(b.keyNumber(`gone${i}`), 1, i, 0, seq, seq++, false))
    expect(b.keyCount).toBe(100 + 1024)
    // The 1025th key left empty: 1025 empty keys > 1024 and > 2 x 100.
    b.remove(b.add(b.keyNumber('last'), 1, 'x', 0, seq, seq++, false))
    expect(b.keyCount).toBe(100)
    expect(listed(b, 'live7', 0)).toEqual([7])
    const reused = b.keyNumber('new')
    expect(reused >= 100 && reused < 100 + 1025).toBe(true)
  })

  it('grows past its first capacity of slots and keys', () => {
    const b = new JoinBuffer()
    for (let i = 0; i < 5000; i++) b.add(b.keyNumber(i % 700), (i & 1) as 0 | 1, i, i, i, i, false)
    expect(listed(b, 3, 1)).toEqual(Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 700 === 3 && (i & 1) === 1))
    b.clear()
    expect(listed(b, 3, 1)).toEqual([])
  })
})
