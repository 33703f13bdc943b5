import { describe, expect, it } from 'vitest'
import { exactJson } from './values.ts'
import { keyPart } from './pgoutput.ts'

describe('exactJson', () => {
  it('keeps integers beyond 2^53 as their decimal text, of either sign, in objects and arrays', () => {
    expect(exactJson('{"id": 12345678901234567890, "n": 1}')).toEqual({ id: '12345678901234567890', n: 1 })
    expect(exactJson('[-9007199254740993, 9007199254740991]')).toEqual(['-9007199254740993', 9007199254740991])
  })
  it('leaves strings alone, escaped quotes included, and other numbers as doubles', () => {
    expect(exactJson('{"s": "a\\\\\\"12345678901234567890", "f": 1.25e3, "g": 12345678901234567.5}')).toEqual({ s: 'a\\"12345678901234567890', f: 1250, g: 12345678901234568 })
  })
  it('parses text without long digit runs as JSON.parse does', () => {
    expect(exactJson('{"a": [1, true, null, "x"]}')).toEqual({ a: [1, true, null, 'x'] })
  })
})

describe('keyPart', () => {
  it('gives integer text JS holds exactly as a number, whatever the column type it came from', () => {
    expect([keyPart('1'), keyPart('-42'), keyPart('9007199254740991')]).toEqual([1, -42, 9007199254740991])
  })
  it('keeps other text as text: leading zeros, -0, beyond 2^53, decimals, timestamps', () => {
    expect([keyPart('007'), keyPart('-0'), keyPart('9007199254740993'), keyPart('1.0'), keyPart('2024-01-01 00:00:00+00')]).toEqual([
      '007',
      '-0',
      '9007199254740993',
      '1.0',
      '2024-01-01 00:00:00+00',
    ])
  })
  it('null stays null', () => {
    expect(keyPart(null)).toBeNull()
  })
})
