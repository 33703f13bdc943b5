import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { LineShapes, MISS } from '../harness/lineShapes.ts'
import { parseLine, readLog, type LogEntry } from '../harness/log.ts'

const SEED = 2106
const params = { seed: SEED, numRuns: 200 }

/** `a` and `b` are the same JSON value: same keys in the same order, numbers equal by `Object.is` (so -0 is not 0). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b)
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** JSON number text, valid and not: digits, signs, points and exponents in any order, and doubles as JSON writes them. */
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.integer().map(String),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?$/),
  fc.string({ unit: fc.constantFrom('0', '1', '9', '-', '+', '.', 'e', 'E'), minLength: 1, maxLength: 8 }),
)

/** String literals, plain and not: escapes, controls, non-ASCII, quotes. */
const stringText = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', 'u', '0', '\n', '\t', 'é', ' '), maxLength: 6 }).map((s) => `"${s}"`),
)

const valueText = fc.oneof(numberText, stringText, fc.constantFrom('true', 'false', 'null', 'tru', 'nul', '{}', '[]', '{"k":1}'))

/** Keys, mostly a few plain ones (so that lines share shapes), some that cannot be learned. */
const keyText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'event', 'offset', 'x y') },
  { weight: 1, arbitrary: fc.constantFrom('1', '__proto__', 'é', 'a"b', 'constructor', '') },
)

/** An object's text from fields; sometimes with whitespace a learned layout does not have. */
const objectText = (depth: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.array(fc.tuple(keyText, depth > 0 ? fc.oneof({ weight: 3, arbitrary: valueText }, { weight: 1, arbitrary: objectText(depth - 1) }) : valueText), { maxLength: 4 }),
      fc.constantFrom('', '', '', ' '),
    )
    .map(([fields, ws]) => `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${ws}${v}`).join(',')}}`)

/** Lines to learn from and to parse: object texts, some cut short or with a byte changed. */
const lineText = fc.oneof(
  { weight: 4, arbitrary: objectText(2) },
  { weight: 1, arbitrary: fc.tuple(objectText(2), fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))) },
  { weight: 1, arbitrary: fc.tuple(objectText(2), fc.nat(), fc.integer({ min: 0x20, max: 0x7e })).map(([t, n, c]) => { const i = n % t.length; return t.slice(0, i) + String.fromCharCode(c) + t.slice(i + 1) }) },
)

describe('LineShapes', () => {
  it('gives what JSON.parse gives for every line it parses, and misses every line JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.array(lineText, { minLength: 1, maxLength: 12 }), fc.array(lineText, { minLength: 1, maxLength: 30 }), (learned, lines) => {
        const shapes = new LineShapes()
        for (const l of learned) {
          try {
            shapes.learn(JSON.parse(l))
          } catch {
            // Only what JSON.parse read is learned.
          }
        }
        // A line learned is also parsed: it is of a learned shape whenever its shape was learnable.
        for (const line of [...learned, ...lines]) {
          const b = Buffer.from(`x\n${line}\ny`)
          const got = shapes.parse(b, 2, 2 + Buffer.byteLength(line))
          if (got === MISS) continue
          let want: unknown
          expect(() => (want = JSON.parse(line))).not.toThrow()
          expect(same(got, want)).toBe(true)
        }
      }),
      params,
    )
  })

  it('reads every number as JSON.parse does, once a numeric field is learned', () => {
    const shapes = new LineShapes()
    shapes.learn({ n: 1 })
    fc.assert(
      fc.property(numberText, (n) => {
        const line = `{"n":${n}}`
        const got = shapes.parse(Buffer.from(line), 0, line.length)
        let want: unknown = MISS
        try {
          want = JSON.parse(line)
        } catch {
          expect(got).toBe(MISS)
        }
        if (got !== MISS) expect(same(got, want)).toBe(true)
      }),
      { ...params, numRuns: 2000 },
    )
  })
})

/** The entries of `lines` as `parseLine` gives them one by one, blank lines skipped. */
const oneByOne = (lines: readonly string[]): LogEntry[] => lines.flatMap((l, i) => parseLine(l, i + 1) ?? [])

describe('readLog with lines parsed by shape', () => {
  it('reads a file as parseLine reads its lines one by one: records, dead letters and their positions, however it is cut into chunks', async () => {
    // Records with and without the offset and topic that default to the line number and 'default'.
    const record = fc
      .tuple(fc.nat(1000), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()), fc.constantFrom('t', 'clicks'), fc.oneof(objectText(1), valueText), fc.boolean())
      .map(([o, a, t, e, full]) => (full ? `{"offset":${o},"arrival":${JSON.stringify(a)},"topic":"${t}","event":${e}}` : `{"arrival":${JSON.stringify(a)},"event":${e}}`))
    // A raw newline inside a string would be two lines of the file.
    const line = fc
      .oneof({ weight: 8, arbitrary: record }, { weight: 1, arbitrary: record.map((l) => `${l}\r`) }, { weight: 1, arbitrary: lineText }, { weight: 1, arbitrary: fc.constantFrom('', ' ', '{oops', '\r', '{"arrival":1,"event":2}\r') })
      .map((l) => l.replaceAll('\n', '\\n'))
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 300 }), async (lines, chunk) => {
        const bytes = Buffer.from(lines.join('\n') + '\n')
        const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk))
        const got: LogEntry[] = []
        for await (const b of readLog(Readable.from(chunks))) got.push(...b)
        const want = oneByOne(lines)
        expect(got.length).toBe(want.length)
        for (let i = 0; i < want.length; i++) expect(same(got[i], want[i]), `entry ${i}: ${JSON.stringify(got[i])} vs ${JSON.stringify(want[i])}`).toBe(true)
      }),
      { ...params, numRuns: 150 },
    )
  })
})
