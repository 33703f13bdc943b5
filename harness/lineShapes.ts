import { generate } from '../operators/core/codegen.ts'

/**
 * NDJSON lines of a shape seen before, parsed straight from their bytes. A log's lines mostly share
 * one shape (the same keys in the same order, the same kinds of values): once a line of a shape
 * has been parsed by `JSON.parse`, `learn` compiles a parser for exactly that text layout (no
 * whitespace, ASCII strings without escapes, the same keys), which checks every byte it reads and
 * builds the value as `JSON.parse` would, keys in the same order. Anything else, a byte it does not
 * expect, a number it cannot convert exactly, an escape, a non-ASCII string, is a miss (`MISS`),
 * and the caller parses the line with `JSON.parse` as before: so a malformed line is still refused
 * by `JSON.parse` alone, with its message.
 *
 * Why: replaying an NDJSON log spent about two thirds of its time in `JSON.parse` and a tenth in
 * decoding the bytes to a string; parsing a known layout from the bytes skips both (measured with
 * `npm run bench -- harness`).
 */

/** What `parse` returns for a line it does not parse: the caller parses it with `JSON.parse`. */
export const MISS: unique symbol = Symbol('weir:lineShapes.miss')

/** What a value of a learned shape is: a number, a string, a boolean, null, or an object of such. */
type Kind = 'number' | 'string' | 'boolean' | 'null' | ObjectShape
interface ObjectShape {
  readonly keys: readonly string[]
  readonly kinds: readonly Kind[]
}

/** The most shapes learned per log, and their fields (in all), nesting and key lengths (beyond: not learned). */
const MAX_SHAPES = 4
const MAX_FIELDS = 256
const MAX_DEPTH = 8
const MAX_KEY = 64
/** After this many lines learned from, one in LEARN_EVERY: a line of an unlearnable shape costs a walk of its value. */
const LEARN_FREELY = 16
const LEARN_EVERY = 64

/**
 * A key the parser can match and put back: printable ASCII without `"` or `\` (so its text is
 * itself), not an array index (JS orders those first, whatever the text's order) and not `__proto__`.
 */
const plainKey = (k: string): boolean => k.length <= MAX_KEY && /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(k) && !/^[0-9]+$/.test(k) && k !== '__proto__'

/**
 * The shape of a parsed value, or undefined when it has one the parser does not handle (arrays above
 * all); `fields` counts the fields of every object in it, against MAX_FIELDS.
 */
function shapeOf(v: unknown, depth: number, fields: { count: number }): Kind | undefined {
  if (typeof v === 'number') return 'number'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'boolean'
  if (v === null) return 'null'
  if (typeof v !== 'object' || Array.isArray(v) || depth >= MAX_DEPTH) return undefined
  const keys = Object.keys(v)
  fields.count += keys.length
  if (fields.count > MAX_FIELDS) return undefined
  const kinds: Kind[] = []
  for (const k of keys) {
    const kind = plainKey(k) ? shapeOf((v as Record<string, unknown>)[k], depth + 1, fields) : undefined
    if (kind === undefined) return undefined
    kinds.push(kind)
  }
  return { keys, kinds }
}

/** Where the scanners leave what they read (one object, not one per value). */
interface Scratch {
  n: number
  s: string
}

/** 10^k, exact for k <= 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)

/**
 * Reads a JSON number at `p` (before `end`) into `out.n`; returns where it ends, or -1 when the
 * bytes are not a JSON number. Up to 15 significant digits and 22 decimals, `m / 10^k` is exact
 * to the last bit (both exact doubles, one correctly rounded division), as `JSON.parse` reads it;
 * longer ones and exponents are converted by `Number`, which reads a JSON number as `JSON.parse` does.
 */
function scanNumber(b: Buffer, p: number, end: number, out: Scratch): number {
  let q = p
  const neg = b[q] === 45
  if (neg) q++
  let c = q < end ? b[q] : 0
  let m = 0
  let digits = 0
  if (c === 48) {
    q++
    digits = 1
  } else if (c >= 49 && c <= 57) {
    do {
      m = m * 10 + (c - 48)
      digits++
      c = ++q < end ? b[q] : 0
    } while (c >= 48 && c <= 57)
  } else return -1
  let k = 0
  c = q < end ? b[q] : 0
  if (c === 46) {
    c = ++q < end ? b[q] : 0
    if (!(c >= 48 && c <= 57)) return -1
    do {
      m = m * 10 + (c - 48)
      digits++
      k++
      c = ++q < end ? b[q] : 0
    } while (c >= 48 && c <= 57)
  } else if (c >= 48 && c <= 57) return -1 // a leading zero
  let exact = digits <= 15 && k <= 22
  if (c === 101 || c === 69) {
    exact = false
    c = ++q < end ? b[q] : 0
    if (c === 43 || c === 45) c = ++q < end ? b[q] : 0
    if (!(c >= 48 && c <= 57)) return -1
    do c = ++q < end ? b[q] : 0
    while (c >= 48 && c <= 57)
  }
  out.n = exact ? (neg ? -(k === 0 ? m : m / POW10[k]) : k === 0 ? m : m / POW10[k]) : Number(b.toString('latin1', p, q))
  return q
}

/** Short strings seen before, by a hash of their bytes: a log's strings repeat (topics, keys, codes). */
const CACHE_SLOTS = 4096
const CACHED_LENGTH = 32

/**
 * Reads a JSON string at `p` (its opening quote, before `end`) into `out.s`; returns where it ends,
 * or -1 when it is not one the parser reads (an escape, a control or non-ASCII byte) or not a string.
 */
function scanString(b: Buffer, p: number, end: number, out: Scratch, cache: (string | undefined)[]): number {
  if (b[p] !== 34) return -1
  let q = p + 1
  let h = 0
  for (;;) {
    if (q >= end) return -1
    const c = b[q]
    if (c === 34) break
    if (c === 92 || c < 0x20 || c >= 0x80) return -1
    h = (Math.imul(h, 31) + c) | 0
    q++
  }
  const n = q - p - 1
  if (n > CACHED_LENGTH) {
    out.s = b.toString('latin1', p + 1, q)
    return q + 1
  }
  const slot = (h ^ (n << 7)) & (CACHE_SLOTS - 1)
  const seen = cache[slot]
  if (seen !== undefined && seen.length === n) {
    let i = 0
    while (i < n && seen.charCodeAt(i) === b[p + 1 + i]) i++
    if (i === n) {
      out.s = seen
      return q + 1
    }
  }
  const s = b.toString('latin1', p + 1, q)
  cache[slot] = s
  out.s = s
  return q + 1
}

/** A compiled shape: the value of the line `b[p, end)`, or MISS. */
type ShapeParser = (b: Buffer, p: number, end: number) => unknown

/** Source text of the checks that the bytes at `p` are `text` (ASCII), then moving past them. */
function expectText(text: string): string {
  const checks = Array.from(text, (ch, i) => `b[p + ${i}] !== ${ch.charCodeAt(0)}`).join(' || ')
  return `if (${checks}) return MISS\np += ${text.length}\n`
}

/**
 * Generates the reading of one value of `kind` into variable `v<id>`; returns its code and the
 * expression that builds the value (an object literal for an object, keys given as arguments).
 */
function readValue(kind: Kind, ids: { next: number; keys: string[] }): { code: string; value: string } {
  const v = `v${ids.next++}`
  switch (kind) {
    case 'number':
      return { code: `p = num(b, p, end, out)\nif (p < 0) return MISS\nconst ${v} = out.n\n`, value: v }
    case 'string':
      return { code: `p = str(b, p, end, out, cache)\nif (p < 0) return MISS\nconst ${v} = out.s\n`, value: v }
    case 'null':
      return { code: expectText('null'), value: 'null' }
    case 'boolean':
      return {
        code:
          `let ${v}\n` +
          `if (b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) { ${v} = true; p += 4 }\n` +
          `else if (b[p] === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) { ${v} = false; p += 5 }\n` +
          `else return MISS\n`,
        value: v,
      }
  }
  let code = expectText('{')
  const fields: string[] = []
  kind.keys.forEach((key, i) => {
    code += expectText(`${i === 0 ? '' : ','}"${key}":`)
    const field = readValue(kind.kinds[i], ids)
    code += field.code
    const k = `k${ids.keys.length}`
    ids.keys.push(key)
    fields.push(`[${k}]: ${field.value}`)
  })
  code += expectText('}')
  return { code, value: `{ ${fields.join(', ')} }` }
}

/** Compiles the parser of lines of `shape` (generated once per shape, never per line). */
function compile(shape: ObjectShape, cache: (string | undefined)[]): ShapeParser {
  const ids = { next: 0, keys: [] as string[] }
  const { code, value } = readValue(shape, ids)
  // Keys go in as arguments, never as source text.
  const keyConsts = ids.keys.map((_, i) => `const k${i} = keys[${i}]\n`).join('')
  const body =
    `${keyConsts}const out = { n: 0, s: '' }\n` +
    `return function parseLine(b, p, end) {\n${code}if (p !== end) return MISS\nreturn ${value}\n}`
  return generate('lineShape', ['keys', 'num', 'str', 'cache', 'MISS'], body)(ids.keys, scanNumber, scanString, cache, MISS) as ShapeParser
}

/**
 * The shapes of one log's lines (one per reader: it keeps what it learned). `parse` a line's bytes;
 * on MISS, parse it with `JSON.parse` and `learn` what that gave.
 */
export class LineShapes {
  private readonly parsers: ShapeParser[] = []
  private readonly seen = new Set<string>()
  private readonly cache: (string | undefined)[] = new Array(CACHE_SLOTS)
  /** Lines learned from so far. */
  private tries = 0

  /** True once a shape is known: until then every line is a miss. */
  get known(): boolean {
    return this.parsers.length > 0
  }

  /** The value of the line `b[start, end)` (without its newline), or MISS. */
  parse(b: Buffer, start: number, end: number): unknown {
    const ps = this.parsers
    for (let i = 0; i < ps.length; i++) {
      const v = ps[i](b, start, end)
      if (v !== MISS) {
        // The shape that matched goes first next time.
        if (i > 0) ps.unshift(ps.splice(i, 1)[0])
        return v
      }
    }
    return MISS
  }

  /**
   * Learns the shape of `value`, a line's `JSON.parse` (up to MAX_SHAPES; values of other shapes are
   * left to `JSON.parse`). Past the first few lines, only one line in LEARN_EVERY is looked at.
   */
  learn(value: unknown): void {
    if (this.parsers.length >= MAX_SHAPES || (++this.tries > LEARN_FREELY && this.tries % LEARN_EVERY !== 0)) return
    const shape = shapeOf(value, 0, { count: 0 })
    if (shape === undefined || typeof shape === 'string') return
    const id = JSON.stringify(shape)
    if (this.seen.has(id)) return
    this.seen.add(id)
    this.parsers.push(compile(shape, this.cache))
  }
}
