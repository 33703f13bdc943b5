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
  /**
   * How events are written in a binary log's blocks, when not one by one with `encode` (MessagePack
   * writes msgpackr records there, whose structures each block carries): see `blockEncoder`.
   */
  readonly blocks?: () => BlockCodec
}

/**
 * Events encoded together in one block of a binary log (docs/encodings.md), where they may share
 * what describes them: `encode` may add to the block's shared part, `seal` returns it (written at
 * the block's start, before its events) and begins the next block; `open` takes a block's shared
 * part before its events are decoded (and throws when it cannot read it).
 */
export interface BlockCodec {
  encode(event: unknown): Uint8Array
  seal(): Uint8Array
  open(bytes: Uint8Array, start: number, end: number): void
  decode(bytes: Uint8Array, start: number, end: number): unknown
}

const NOTHING_SHARED = new Uint8Array(0)

/**
 * The block codec of `encoding`: its own (`blocks`), or its `encode` and `decode` with nothing
 * shared between a block's events. One per writer or reader: it may keep a block's state.
 */
export function blockCodec(encoding: Encoding): BlockCodec {
  if (encoding.blocks !== undefined) return encoding.blocks()
  return {
    encode: (event) => encoding.encode(event),
    seal: () => NOTHING_SHARED,
    open(_bytes, start, end) {
      if (end !== start) throw new Error(`${encoding.name} blocks share nothing, got ${end - start} bytes`)
    },
    decode: (bytes, start, end) => encoding.decode(bytes, start, end),
  }
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
