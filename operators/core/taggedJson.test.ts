import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeTagged, encodeTagged } from './taggedJson.ts'
import { stateValue } from '../../property-tests/arbitraries.ts'

/** Through text, as a file or Redis store keeps it. */
const roundTrip = (v: unknown): unknown => decodeTagged(JSON.parse(JSON.stringify(encodeTagged(v))))

describe('tagged JSON', () => {
  it('gives back every value state can hold, exactly (fixed seed)', () => {
    fc.assert(
      fc.property(stateValue(), (v) => {
        expect(roundTrip(v)).toStrictEqual(v)
      }),
      { seed: 1212, numRuns: 500 },
    )
  })

  it('keeps an Infinity sum, a NaN mean and -0, which plain JSON turns into null and 0', () => {
    const state = { s: Infinity, m: NaN, lo: -Infinity, z: -0 }
    expect(JSON.parse(JSON.stringify(state))).toEqual({ s: null, m: null, lo: null, z: 0 })
    const back = roundTrip(state) as typeof state
    expect(back.s).toBe(Infinity)
    expect(back.m).toBeNaN()
    expect(back.lo).toBe(-Infinity)
    expect(Object.is(back.z, -0)).toBe(true)
  })

  it('gives back a Date and a Buffer as themselves (a CDC row), not a string and { type, data }', () => {
    const row = { id: 7, at: new Date('2024-03-01T10:00:00.123Z'), blob: Buffer.from([0, 1, 254, 255]) }
    const back = roundTrip(row) as typeof row
    expect(back.at).toBeInstanceOf(Date)
    expect(back.at.getTime()).toBe(row.at.getTime())
    expect(Buffer.isBuffer(back.blob)).toBe(true)
    expect([...back.blob]).toEqual([0, 1, 254, 255])
  })

  it('plain JSON stays plain JSON (what older tools read stays readable)', () => {
    const v = { a: [1, 'x', null, true], b: { c: 2.5 } }
    expect(encodeTagged(v)).toEqual(v)
  })

  describe('edges', () => {
    it('an object with its own "$" key is not taken for a tag', () => {
      const v = { $: 'Date', v: 0 }
      expect(roundTrip(v)).toStrictEqual(v)
    })

    it('a key named __proto__ stays a key and sets no prototype', () => {
      const v = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>
      const back = roundTrip(v) as Record<string, unknown>
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
      expect(Object.keys(back)).toEqual(['__proto__', 'x'])
      expect((back as { polluted?: unknown }).polluted).toBeUndefined()
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    })

    it('an invalid Date and undefined in arrays and Maps come back', () => {
      const v = [new Date(Number.NaN), undefined, new Map([[undefined, undefined]])]
      expect(roundTrip(v)).toStrictEqual(v)
    })

    it('a typed array over part of a larger buffer keeps only its own bytes', () => {
      const big = new Float64Array([1, 2, 3, 4])
      const part = new Float64Array(big.buffer, 8, 2)
      expect(roundTrip(part)).toStrictEqual(new Float64Array([2, 3]))
    })

    it('a function, a symbol or a cycle is refused, naming where', () => {
      expect(() => encodeTagged({ a: [1, () => 1] }, 'operators[2]')).toThrow('checkpoint: cannot store a function (at operators[2].a[1])')
      expect(() => encodeTagged(new Map([['k', Symbol('s')]]))).toThrow(/cannot store a symbol \(at state<value 0>\)/)
      const cyclic: Record<string, unknown> = {}
      cyclic.self = { back: cyclic }
      expect(() => encodeTagged(cyclic)).toThrow('cannot store a cycle (at state.self.back)')
    })

    it('a value shared twice (not a cycle) is stored twice', () => {
      const shared = { n: 1 }
      expect(roundTrip([shared, shared])).toStrictEqual([{ n: 1 }, { n: 1 }])
    })

    it('an unknown tag is an error naming it', () => {
      expect(() => decodeTagged({ $: 'Regexp', v: 'x' })).toThrow(/unknown tag "Regexp"/)
    })
  })
})
