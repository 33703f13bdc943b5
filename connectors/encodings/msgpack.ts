import { asBuffer, type BlockCodec, type Encoding } from './encoding.ts'
import { requirePeer } from './peer.ts'

type Structures = string[][] & { sharedLength?: number }

interface PackrOptions {
  useRecords: boolean
  mapsAsObjects: boolean
  copyBuffers: boolean
  structures?: Structures
}
interface Packr {
  pack(value: unknown): Buffer
  unpack(bytes: Buffer, range?: { start: number; end: number }): unknown
}
interface Msgpackr {
  readonly Packr: new (options: PackrOptions) => Packr
}

/** Events up to this many bytes are decoded from a scratch copy (see `unpackSmall`). */
const SCRATCH = 64 * 1024
/** Events up to this many bytes are copied there in a loop (see `unpackSmall`). */
const SHORT = 256

/**
 * Events as MessagePack (needs the msgpackr package): binary JSON, no schema. `encode` and `decode`
 * (Redis entries) write and read standard maps only, so other MessagePack readers read what weir
 * writes there. Inside a binary log's blocks, objects are msgpackr records: the keys of each shape
 * once per block, not once per event (docs/encodings.md).
 *
 * @example
 * const m = msgpack()
 * m.decode(m.encode({ x: [1, 'a'] })) // { x: [1, 'a'] }
 */
export function msgpack(): Encoding {
  const { Packr } = requirePeer<Msgpackr>('msgpackr', 'the msgpack encoding')
  // copyBuffers: a binary value is a copy, not a view of the bytes it was read from (they are reused).
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
  const unpack = unpackSmall(packr)
  return {
    name: 'msgpack',
    encode: (event) => packr.pack(event),
    decode: (bytes, start = 0, end = bytes.length) => unpack(asBuffer(bytes), start, end),
    blocks: () => recordBlocks(Packr, packr),
  }
}

/**
 * msgpackr decodes an event at the start of a small buffer 2-3x faster than one deep inside a log
 * reader's chunk (measured): a short event is copied to a scratch buffer first, byte by byte
 * (Buffer#copy makes a view per call, which costs more than the loop).
 */
function unpackSmall(unpackr: Packr): (buf: Buffer, start: number, end: number) => unknown {
  const scratch = Buffer.allocUnsafe(SCRATCH)
  return (buf, start, end) => {
    const n = end - start
    if ((start === 0 && end === buf.length) || n > SCRATCH) return unpackr.unpack(buf, { start, end })
    if (n <= SHORT) for (let i = 0; i < n; i++) scratch[i] = buf[start + i]
    else buf.copy(scratch, 0, start, end)
    return unpackr.unpack(scratch, { start: 0, end: n })
  }
}

/**
 * A binary log's MessagePack blocks: objects written as msgpackr records (measured to decode about
 * twice as fast as maps, and a third smaller), whose shapes (up to msgpackr's 32 shared ones) the
 * block's shared part lists as a MessagePack array of key arrays, so each block reads on its own.
 */
function recordBlocks(Packr: Msgpackr['Packr'], plain: Packr): BlockCodec {
  const written: Structures = []
  const writer = new Packr({ useRecords: true, mapsAsObjects: true, copyBuffers: true, structures: written })
  const none = new Uint8Array(0)
  let unpack = unpackSmall(plain)
  /** The last block's shared part: consecutive blocks mostly share the same shapes. */
  let opened: Buffer = Buffer.alloc(0)
  return {
    encode: (event) => writer.pack(event),
    seal() {
      const n = written.sharedLength ?? written.length
      return n === 0 ? none : plain.pack(written.slice(0, n).map((keys) => [...keys]))
    },
    open(bytes, start, end) {
      const buf = asBuffer(bytes)
      if (end - start === opened.length && buf.compare(opened, 0, opened.length, start, end) === 0) return
      if (end === start) unpack = unpackSmall(plain)
      else {
        const shapes = plain.unpack(buf, { start, end })
        if (!Array.isArray(shapes) || !shapes.every((keys) => Array.isArray(keys) && keys.every((k) => typeof k === 'string')))
          throw new Error('its record shapes are not a list of key lists')
        unpack = unpackSmall(new Packr({ useRecords: true, mapsAsObjects: true, copyBuffers: true, structures: shapes as Structures }))
      }
      opened = Buffer.from(buf.subarray(start, end))
    },
    decode: (bytes, start, end) => unpack(asBuffer(bytes), start, end),
  }
}
