/**
 * Encodings: how one event is laid out in bytes, in a binary log's frames (see docs/encodings.md).
 * JSON is the default and needs nothing; Avro and MessagePack load their optional peer packages
 * (avsc, msgpackr) when first asked for, so that only their users install them.
 */

/** The encodings weir reads and writes. */
export type EncodingName = 'json' | 'avro' | 'msgpack'

export const ENCODING_NAMES: readonly EncodingName[] = ['json', 'avro', 'msgpack']

/**
 * One event to bytes and back. `decode` reads the event in `bytes[start, end)` (all of `bytes` by
 * default; a range spares the log reader a copy or a view per record) and throws on bytes it
 * cannot read, or that hold more than one event (the reader turns that into a dead letter with the
 * record's position); `encode` throws on a value the encoding cannot hold (an Avro value that does
 * not fit its schema).
 */
export interface Encoding {
  readonly name: EncodingName
  /** Avro's schema, as JSON text: a binary log's header carries it, so the file describes itself. */
  readonly schema?: string
  encode(event: unknown): Uint8Array
  decode(bytes: Uint8Array, start?: number, end?: number): unknown
}

/** A Buffer over the same memory (no copy): the peers and `toString` want one. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * Events as UTF-8 JSON text, the default (a log of them is plain NDJSON unless framed).
 *
 * @example
 * json().decode(json().encode({ x: 1 })) // { x: 1 }
 */
export const json = (): Encoding => JSON_ENCODING

const JSON_ENCODING: Encoding = {
  name: 'json',
  encode(event) {
    const text = JSON.stringify(event)
    if (text === undefined) throw new TypeError(`json: ${typeof event} cannot be written as JSON`)
    return Buffer.from(text, 'utf8')
  },
  decode: (bytes, start = 0, end = bytes.length) => JSON.parse(asBuffer(bytes).toString('utf8', start, end)),
}
