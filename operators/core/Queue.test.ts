import { describe, expect, it } from 'vitest'
import { Queue } from './Queue.ts'

describe('Queue', () => {
  it('gives elements back in the order they were pushed', () => {
    const q = new Queue<number>()
    for (let i = 0; i < 5; i++) q.push(i)
    expect([q.shift(), q.shift()]).toEqual([0, 1])
    q.push(5)
    const rest: number[] = []
    while (q.length > 0) rest.push(q.shift()!)
    expect(rest).toEqual([2, 3, 4, 5])
  })

  it('an empty queue shifts and peeks undefined, and has length 0', () => {
    const q = new Queue<string>()
    expect(q.shift()).toBeUndefined()
    expect(q.peek()).toBeUndefined()
    expect(q.length).toBe(0)
    q.push('a')
    expect(q.peek()).toBe('a')
    expect(q.length).toBe(1)
    expect(q.shift()).toBe('a')
    expect(q.shift()).toBeUndefined()
  })

  it('keeps order across compactions (interleaved pushes and shifts over many elements)', () => {
    const q = new Queue<number>()
    let next = 0
    let expected = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 997; i++) q.push(next++)
      for (let i = 0; i < 900; i++) expect(q.shift()).toBe(expected++)
    }
    expect(q.length).toBe(next - expected)
    const seen: number[] = []
    q.forEach((x) => seen.push(x))
    expect(seen).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i))
    while (q.length > 0) expect(q.shift()).toBe(expected++)
    expect(expected).toBe(next)
  })

  it('clear empties it', () => {
    const q = new Queue<number>()
    q.push(1)
    q.push(2)
    q.shift()
    q.clear()
    expect(q.length).toBe(0)
    expect(q.shift()).toBeUndefined()
  })

  it('drains a million elements in order', () => {
    const q = new Queue<number>()
    for (let i = 0; i < 1_000_000; i++) q.push(i)
    let sum = 0
    while (q.length > 0) sum += q.shift()!
    expect(sum).toBe((999_999 * 1_000_000) / 2)
  })
})
