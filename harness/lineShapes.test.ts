import { describe, expect, it } from 'vitest'
import { LineShapes, MISS } from './lineShapes.ts'

/** A reader that has seen `learned` (parsed), parsing `line` from its bytes. */
const parseAfter = (learned: readonly string[], line: string): unknown => {
  const shapes = new LineShapes()
  for (const l of learned) shapes.learn(JSON.parse(l))
  const b = Buffer.from(`junk\n${line}\nmore`)
  return shapes.parse(b, 5, 5 + Buffer.byteLength(line))
}

const TRIP = '{"offset":1,"arrival":1700000000003,"topic":"trips","event":{"id":1,"zone":"z1","ts":1700000000003,"fare":1.5,"paid":true,"note":null}}'

describe('LineShapes', () => {
  it('parses a line of a shape it has learned as JSON.parse does, keys in the same order', () => {
    const line = '{"offset":7,"arrival":-2.25,"topic":"t","event":{"id":0,"zone":"","ts":123456789012345,"fare":0.1,"paid":false,"note":null}}'
    const v = parseAfter([TRIP], line)
    expect(v).toEqual(JSON.parse(line))
    expect(JSON.stringify(v)).toBe(line)
  })

  it('knows no shape until it has learned one: every line is a miss', () => {
    expect(parseAfter([], TRIP)).toBe(MISS)
  })

  it('reads numbers exactly as JSON.parse: -0, many digits, exponents, out of range', () => {
    for (const n of ['-0', '0', '0.1', '0.30000000000000004', '9007199254740993', '123456789.123456789', '1e400', '-1E-400', '2.5e+3', '5e-324', '1.7976931348623157e308', '0.000001'])
      expect(Object.is((parseAfter(['{"x":1}'], `{"x":${n}}`) as { x: number }).x, JSON.parse(n))).toBe(true)
  })

  it('misses what is not a JSON number, for JSON.parse to refuse', () => {
    for (const n of ['01', '-', '1.', '.5', '1e', '+1', '1.5.2', '0x10', 'NaN', 'Infinity', '--1', '1e+']) expect(parseAfter(['{"x":1}'], `{"x":${n}}`)).toBe(MISS)
  })

  it('misses strings with escapes, control characters or non-ASCII bytes (JSON.parse reads those)', () => {
    for (const s of ['"a\\"b"', '"a\\nb"', '"\\u0041"', '"é"', '"a\tb"', '"\u2028"']) expect(parseAfter(['{"s":"x"}'], `{"s":${s}}`)).toBe(MISS)
  })

  it('misses any layout other than the learned one: whitespace, another key order, a missing or extra key, a duplicate key, trailing bytes', () => {
    for (const line of ['{ "a":1,"b":"x"}', '{"a":1, "b":"x"}', '{"b":"x","a":1}', '{"a":1}', '{"a":1,"b":"x","c":2}', '{"a":1,"a":1,"b":"x"}', '{"a":1,"b":"x"}\r', '{"a":1,"b":"x"}x', '{"a":1,"b":"x"', '[1]', ''])
      expect(parseAfter(['{"a":1,"b":"x"}'], line)).toBe(MISS)
  })

  it('misses another kind of value in a field, and learns that shape as well (up to four)', () => {
    expect(parseAfter(['{"a":"x"}'], '{"a":null}')).toBe(MISS)
    expect(parseAfter(['{"a":"x"}', '{"a":null}'], '{"a":null}')).toEqual({ a: null })
    expect(parseAfter(['{"a":"x"}', '{"a":null}'], '{"a":"y"}')).toEqual({ a: 'y' })
    expect(parseAfter(['{"a":1}', '{"b":1}', '{"c":1}', '{"d":1}', '{"e":1}'], '{"d":2}')).toEqual({ d: 2 })
    expect(parseAfter(['{"a":1}', '{"b":1}', '{"c":1}', '{"d":1}', '{"e":1}'], '{"e":2}')).toBe(MISS)
  })

  it('learns no shape with arrays, array-index keys, a "__proto__" key or keys it cannot match byte for byte', () => {
    for (const line of ['{"a":[1]}', '{"1":1,"a":2}', '{"__proto__":{"x":1}}', '{"a\\"b":1}', '{"é":1}', '"text"', '5']) expect(parseAfter([line], line)).toBe(MISS)
  })

  it('learns no shape of more than 256 fields in all', () => {
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i])))
    expect(parseAfter([wide], wide)).toBe(MISS)
    const nested = JSON.stringify({ a: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])), b: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])) })
    expect(parseAfter([nested], nested)).toBe(MISS)
  })

  it('after many lines of shapes it cannot learn, still learns a new one, looking at one line in 64', () => {
    const shapes = new LineShapes()
    for (let i = 0; i < 1000; i++) shapes.learn({ a: [i] })
    const line = '{"b":1}'
    let learnedAfter = 0
    while (shapes.parse(Buffer.from(line), 0, line.length) === MISS) {
      shapes.learn({ b: 1 })
      learnedAfter++
    }
    expect(learnedAfter).toBeGreaterThan(0)
    expect(learnedAfter).toBeLessThanOrEqual(64)
  })

  it('gives back strings by their bytes, however many share a hash slot', () => {
    const shapes = new LineShapes()
    shapes.learn({ s: 'x' })
    for (let i = 0; i < 20_000; i++) {
      const line = `{"s":"v${i}"}`
      expect((shapes.parse(Buffer.from(line), 0, line.length) as { s: string }).s).toBe(`v${i}`)
    }
    const long = 'y'.repeat(100)
    expect(shapes.parse(Buffer.from(`{"s":"${long}"}`), 0, long.length + 8)).toEqual({ s: long })
  })

  it('builds objects whose prototype is Object.prototype, with own keys only', () => {
    const v = parseAfter(['{"constructor":1,"toString":"x","hasOwnProperty":null}'], '{"constructor":2,"toString":"y","hasOwnProperty":null}') as object
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['constructor', 'toString', 'hasOwnProperty'])
    expect(v).toEqual({ constructor: 2, toString: 'y', hasOwnProperty: null })
  })

  it('reads only within the line: a line cut short misses, whatever follows it in the buffer', () => {
    const shapes = new LineShapes()
    shapes.learn({ a: 1, b: 'x' })
    const b = Buffer.from('{"a":12,"b":"xy"}')
    for (let end = 0; end < b.length; end++) expect(shapes.parse(b, 0, end)).toBe(MISS)
    expect(shapes.parse(b, 0, b.length)).toEqual({ a: 12, b: 'xy' })
  })
})
