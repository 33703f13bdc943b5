import type { Encoding } from '../encodings/encoding.ts'

/**
 * Stream entries as the Redis connectors read them. With JSON events (the default) every reply is
 * text; with a binary encoding (Avro, MessagePack) the reads use ioredis's `...Buffer` commands, so
 * that the `e` field's bytes are not mangled by UTF-8 decoding, and the stream names, ids and field
 * names are turned back into text here (see docs/encodings.md).
 */

/** An entry's fields, name then value: values are text, or bytes when read for a binary encoding. */
export type Fields = readonly (string | Buffer)[]

export type Entries = [id: string, fields: Fields | null][]

/** A raw reply of entries (XCLAIM, XRANGE) read with the `...Buffer` variant of its command. */
type BufferEntries = [id: Buffer, fields: Buffer[] | null][]

/** True when events are bytes of a binary encoding, read with the `...Buffer` commands. */
export const isBinary = (encoding: Encoding | undefined): encoding is Encoding => encoding !== undefined && encoding.name !== 'json'

/** Entries read as bytes, with ids and field names as text and field values left as bytes. */
export const textEntries = (entries: BufferEntries | null | undefined): Entries =>
  (entries ?? []).map(([id, fields]) => [id.toString(), fields === null ? null : fields.map((f, i) => (i % 2 === 0 ? f.toString() : f))])

/** An XREADGROUP reply read as bytes, with stream names as text (see `textEntries`). */
export const textStreams = (reply: [stream: Buffer, entries: BufferEntries][] | null | undefined): [string, Entries][] | null =>
  reply === null || reply === undefined ? null : reply.map(([stream, entries]) => [stream.toString(), textEntries(entries)])

/** The `e` field of an entry (its event: JSON text, or bytes of a binary encoding), if it has one. */
export const eventField = (fields: Fields | null): string | Buffer | undefined => {
  if (fields === null) return undefined
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'e') return fields[i + 1]
  return undefined
}
