import { asBuffer, type Encoding } from './encoding.ts'
import { requirePeer } from './peer.ts'

interface Msgpackr {
  readonly Packr: new (options: { useRecords: boolean; mapsAsObjects: boolean; copyBuffers: boolean }) => {
    pack(value: unknown): Buffer
    unpack(bytes: Buffer, range: { start: number; end: number }): unknown
  }
}

/** Events up to this many bytes are decoded from a scratch copy (see `decode`). */
const SCRATCH = 64 * 1024
/** Events up to this many bytes are copied there in a loop (see `decode`). */
const SHORT = 256

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
  // copyBuffers: a binary value is a copy, not a view of the bytes it was read from (they are reused).
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
  const scratch = Buffer.allocUnsafe(SCRATCH)
  return {
    name: 'msgpack',
    encode: (event) => packr.pack(event),
    decode(bytes, start = 0, end = bytes.length) {
      const buf = asBuffer(bytes)
      const n = end - start
      if ((start === 0 && end === buf.length) || n > SCRATCH) return packr.unpack(buf, { start, end })
      // msgpackr decodes an event at the start of a small buffer 2-3x faster than one deep inside
      // a log reader's chunk (measured): a short event is copied to a scratch buffer first.
      // A short event is copied byte by byte: Buffer#copy makes a view per call, which costs more than the loop.
      if (n <= SHORT) for (let i = 0; i < n; i++) scratch[i] = buf[start + i]
      else buf.copy(scratch, 0, start, end)
      return packr.unpack(scratch, { start: 0, end: n })
    },
  }
}
