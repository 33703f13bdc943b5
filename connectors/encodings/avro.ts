import { readFileSync } from 'node:fs'
import { errorMessage } from '../../dsl/sides.ts'
import { asBuffer, type Encoding } from './encoding.ts'
import { requirePeer } from './peer.ts'

/** The slice of avsc's `Type` this module uses (its own types stay out of weir's public ones). */
interface AvroType {
  toBuffer(value: unknown): Buffer
  /** The value at `pos`, and where it ends (-1 when the bytes end first). */
  decode(buffer: Buffer, pos: number): { value: unknown; offset: number }
}
interface Avsc {
  readonly Type: { forSchema(schema: unknown): AvroType }
}

/** An Avro schema: its JSON, parsed (`{ type: 'record', name, fields }`) or as text. */
export type AvroSchema = object | string

/**
 * Events as Avro binary (needs the avsc package): compact and fast to decode, with the schema
 * known to both ends. A value that does not fit the schema cannot be encoded (`encode` throws);
 * bytes that do not decode under it, or leave bytes over, throw in `decode`.
 *
 * @example
 * const clicks = avro({ type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }, { name: 'at', type: 'long' }] })
 * clicks.decode(clicks.encode({ user: 'ann', at: 5 })) // { user: 'ann', at: 5 }
 */
export function avro(schema: AvroSchema): Encoding {
  let parsed: unknown = schema
  if (typeof schema === 'string')
    try {
      parsed = JSON.parse(schema)
    } catch (e) {
      throw new TypeError(`avro: the schema is not JSON: ${errorMessage(e)}`)
    }
  const avsc = requirePeer<Avsc>('avsc', 'the avro encoding')
  let type: AvroType
  try {
    type = avsc.Type.forSchema(parsed)
  } catch (e) {
    throw new TypeError(`avro: not a valid Avro schema: ${errorMessage(e)}`)
  }
  return {
    name: 'avro',
    schema: JSON.stringify(parsed),
    encode: (event) => type.toBuffer(event),
    decode(bytes, start = 0, end = bytes.length) {
      // Decoded in place (no view per record); the bytes read must be exactly the range.
      const r = type.decode(asBuffer(bytes), start)
      if (r.offset === end) return r.value
      throw new Error(r.offset < 0 || r.offset > end ? `the value runs past its ${end - start} bytes` : `${end - r.offset} bytes are left over after the value`)
    },
  }
}

/**
 * Reads an Avro schema file (`.avsc`, JSON), for `avro(readAvroSchema(path))`. A missing file or
 * one that is not JSON is an error naming the file.
 */
export function readAvroSchema(path: string): object {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new TypeError(`avro: cannot read the schema file ${path}: ${errorMessage(e)}`)
  }
  try {
    return JSON.parse(text) as object
  } catch (e) {
    throw new TypeError(`avro: the schema file ${path} is not JSON: ${errorMessage(e)}`)
  }
}
