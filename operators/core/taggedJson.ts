/**
 * Weir's tagged JSON: the values operator state can hold, as plain JSON data and back, exactly.
 *
 * JSON itself turns `Infinity` and `NaN` into `null`, `-0` into `0`, a `Date` into a string, a `Map`
 * or `Set` into `{}`, a `Buffer` into `{ type: 'Buffer', data }`, drops `undefined` from objects and
 * throws on a `BigInt`; a restored checkpoint would then differ from the state it was taken from.
 * Here those values become small tagged objects `{ "$": tag, "v": payload }`; everything else is
 * JSON as it was. A plain object that has a key `$` of its own is wrapped (`{ "$": "object", "v": ... }`)
 * so that it cannot be mistaken for a tag. See docs/checkpoints.md.
 *
 * Kept exactly: finite numbers, strings, booleans, null, `undefined` (in objects, arrays, Maps),
 * `NaN`, `±Infinity`, `-0`, BigInt, `Date` (invalid ones too), `Map`, `Set` (any keys and values,
 * in order), `Buffer` and the typed arrays, arrays, plain objects (own enumerable string keys, in
 * order, `__proto__` included as a key) and objects without a prototype (`Object.create(null)`).
 * Class instances are stored as plain objects of their own fields, as JSON would; functions and
 * symbols cannot be stored (a TypeError naming where), nor can a cycle.
 */

/** The key that marks a tagged value. */
const TAG = '$'

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const

type TypedArrayName = keyof typeof TYPED_ARRAYS

const tagged = (tag: string, v?: unknown): Record<string, unknown> => (v === undefined ? { [TAG]: tag } : { [TAG]: tag, v })

/** Sets `o[k] = v` as an own data property, even for `k === '__proto__'` (an assignment would set the prototype). */
const put = (o: Record<string, unknown>, k: string, v: unknown): void => {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
  else o[k] = v
}

const bytesOf = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

/**
 * The JSON data that stands for `value` (give it to `JSON.stringify`); `decodeTagged` gives the value back.
 * Throws a TypeError naming the path of a function, a symbol or a cycle (`where` starts the path).
 *
 * @example
 * JSON.stringify(encodeTagged({ s: Infinity, at: new Date(0) })) // '{"s":{"$":"number","v":"Infinity"},"at":{"$":"Date","v":0}}'
 */
export function encodeTagged(value: unknown, where = 'state'): unknown {
  return encode(value, where, new Set())
}

function encode(v: unknown, path: string, open: Set<object>): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v
    case 'number':
      if (Number.isFinite(v)) return v === 0 && 1 / v < 0 ? tagged('number', '-0') : v
      return tagged('number', String(v))
    case 'undefined':
      return tagged('undefined')
    case 'bigint':
      return tagged('bigint', v.toString())
    case 'function':
    case 'symbol':
      throw new TypeError(`checkpoint: cannot store a ${typeof v} (at ${path})`)
  }
  if (v === null) return null
  const o = v as object
  if (open.has(o)) throw new TypeError(`checkpoint: cannot store a cycle (at ${path})`)
  open.add(o)
  try {
    return encodeObject(o, path, open)
  } finally {
    open.delete(o)
  }
}

function encodeObject(o: object, path: string, open: Set<object>): unknown {
  if (Array.isArray(o)) {
    const out = new Array<unknown>(o.length)
    for (let i = 0; i < o.length; i++) out[i] = encode(o[i], `${path}[${i}]`, open)
    return out
  }
  if (o instanceof Date) return tagged('Date', encode(o.getTime(), path, open))
  if (o instanceof Map) {
    const entries: unknown[] = []
    let i = 0
    for (const [k, x] of o) {
      entries.push([encode(k, `${path}<key ${i}>`, open), encode(x, `${path}<value ${i}>`, open)])
      i++
    }
    return tagged('Map', entries)
  }
  if (o instanceof Set) {
    const items: unknown[] = []
    let i = 0
    for (const x of o) items.push(encode(x, `${path}<item ${i++}>`, open))
    return tagged('Set', items)
  }
  if (ArrayBuffer.isView(o)) {
    if (Buffer.isBuffer(o)) return tagged('Buffer', bytesOf(o))
    const name = o.constructor.name
    if (!(name in TYPED_ARRAYS)) throw new TypeError(`checkpoint: cannot store a ${name} (at ${path})`)
    return tagged(name, bytesOf(o))
  }
  const out: Record<string, unknown> = {}
  let own$ = false
  for (const k of Object.keys(o)) {
    if (k === TAG) own$ = true
    put(out, k, encode((o as Record<string, unknown>)[k], `${path}.${k}`, open))
  }
  // A dictionary made with Object.create(null) stays one (a key like 'toString' must not find Object's).
  if (Object.getPrototypeOf(o) === null) return tagged('dictionary', out)
  return own$ ? tagged('object', out) : out
}

/**
 * The value `encodeTagged` was given, from its JSON data (as `JSON.parse` returns it). Throws a
 * TypeError for a tag it does not know (data from something else).
 *
 * @example
 * decodeTagged(JSON.parse('{"s":{"$":"number","v":"Infinity"}}')) // { s: Infinity }
 */
export function decodeTagged(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json
  if (Array.isArray(json)) {
    const out = new Array<unknown>(json.length)
    for (let i = 0; i < json.length; i++) out[i] = decodeTagged(json[i])
    return out
  }
  const o = json as Record<string, unknown>
  if (Object.hasOwn(o, TAG)) return decodeTag(o[TAG], o.v)
  return decodeFields(o)
}

function decodeFields(o: Record<string, unknown>, out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const k of Object.keys(o)) put(out, k, decodeTagged(o[k]))
  return out
}

function decodeTag(tag: unknown, v: unknown): unknown {
  switch (tag) {
    case 'undefined':
      return undefined
    case 'number':
      return v === '-0' ? -0 : Number(v)
    case 'bigint':
      return BigInt(v as string)
    case 'Date':
      return new Date(decodeTagged(v) as number)
    case 'Map':
      return new Map((v as [unknown, unknown][]).map(([k, x]) => [decodeTagged(k), decodeTagged(x)]))
    case 'Set':
      return new Set((v as unknown[]).map(decodeTagged))
    case 'Buffer':
      return Buffer.from(v as string, 'base64')
    case 'object':
      return decodeFields(v as Record<string, unknown>)
    case 'dictionary':
      return decodeFields(v as Record<string, unknown>, Object.create(null) as Record<string, unknown>)
  }
  if (typeof tag === 'string' && Object.hasOwn(TYPED_ARRAYS, tag)) {
    const bytes = Buffer.from(v as string, 'base64')
    const Typed = TYPED_ARRAYS[tag as TypedArrayName]
    // A copy into a fresh, aligned buffer: Buffer.from may hand out a slice of a shared pool.
    const copy = new Uint8Array(bytes.length)
    copy.set(bytes)
    return new Typed(copy.buffer, 0, bytes.length / Typed.BYTES_PER_ELEMENT)
  }
  throw new TypeError(`checkpoint: unknown tag ${JSON.stringify(tag)} in the stored state (not written by this version of weir?)`)
}

/**
 * A deep copy that keeps everything the tagged encoding keeps (a Buffer stays a Buffer, which
 * `structuredClone` turns into a Uint8Array): for snapshots of state that is updated in place.
 */
export const copyState = <T>(v: T): T => decodeTagged(encodeTagged(v)) as T
