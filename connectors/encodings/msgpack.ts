import { asBuffer, type Encoding } from './encoding.ts'
import { requirePeer } from './peer.ts'

interface Msgpackr {
  readonly Packr: new (options: { useRecords: boolean; mapsAsObjects: boolean }) => {
    pack(value: unknown): Buffer
    unpack(bytes: Buffer, range: { start: number; end: number }): unknown
  }
}

/**
 * Events as MessagePack (needs the msgpackr package): binary JSON, no schema. Standard maps only
 * (msgpackr's record extension is off), so other MessagePack readers can read what weir writes.
 *
 * @example
 * const m = msgpack()
 * m.decode(m.encode({ x: [1, 'a'] })) // { x: [1, 'a'] }
 */
export function msgpack(): Encoding {
  const { Packr } = requirePeer<Msgpackr>('msgpackr', 'the msgpack encoding')
  const packr = new Packr({ useRecords: false, mapsAsObjects: true })
  return {
    name: 'msgpack',
    encode: (event) => packr.pack(event),
    // A range of the caller's buffer: msgpackr keeps one DataView per buffer, not one per record.
    decode: (bytes, start = 0, end = bytes.length) => packr.unpack(asBuffer(bytes), { start, end }),
  }
}
