import { deadLetter, errorMessage } from '../dsl/sides.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'
import type { LogEntry, LogRecord } from './log.ts'
import { BAD, crc32, NEED_MORE, readF64, readVarint, Resyncing, sameBytes, varintLength, writeVarint, type Varint } from './framedBytes.ts'

/**
 * Version 1 of the binary log format (docs/encodings.md), still read: a CRC-32 per record.
 *
 *   frame   = SYNC, varint n, u32le crc32(payload), payload (n bytes)
 *   payload = f64le arrival, varint offset, varint t, topic (t bytes of UTF-8), event bytes
 */
const SYNC = 0xa7
/** A version-1 log's magic bytes (`logHeader(encoding, MAGIC_V1)` writes its header). */
export const MAGIC_V1 = Buffer.from([0x89, 0x57, 0x45, 0x49, 0x52, 0x4c, 0x47, 0x01])

/** One record as a version-1 frame (weir writes version 2; this writes old logs for tests). */
export function encodeV1Frame(r: LogRecord, encoding: Encoding): Buffer {
  const event = encoding.encode(r.event)
  const topicBytes = Buffer.byteLength(r.topic)
  const n = 8 + varintLength(r.offset) + varintLength(topicBytes) + topicBytes + event.length
  const frame = Buffer.allocUnsafe(1 + varintLength(n) + 4 + n)
  frame[0] = SYNC
  const crcAt = writeVarint(frame, 1, n)
  const start = crcAt + 4
  frame.writeDoubleLE(r.arrival, start)
  let at = writeVarint(frame, writeVarint(frame, start + 8, r.offset), topicBytes)
  at += frame.write(r.topic, at, 'utf8')
  frame.set(event, at)
  frame.writeUInt32LE(crc32(frame, start), crcAt)
  return frame
}

/** Reads version-1 frames: a corrupt region of them is one dead letter (see `Resyncing`). */
export class V1Frames extends Resyncing {
  private readonly scratch: Varint = { value: 0 }
  private lastTopic = ''
  private lastTopicBytes: Buffer = Buffer.alloc(0)

  constructor(
    private readonly encoding: Encoding,
    private readonly max: number,
  ) {
    super(SYNC, 'frame')
  }

  protected named(at: number, frameNo: number): string {
    return `record ${frameNo} (at byte ${at})`
  }

  /**
   * The frame at `p` of `buf`: its end (after pushing its record or a decode dead letter to
   * `batch`), NEED_MORE, or BAD (with the reason in `badWhy`). `base` is `buf`'s position in the input.
   */
  protected unitAt(buf: Buffer, base: number, p: number, batch: LogEntry[] | undefined): number {
    const scratch = this.scratch
    if (buf[p] !== SYNC) return ((this.badWhy = `no frame starts there (byte 0x${buf[p].toString(16)})`), BAD)
    // A short frame's length is a one-byte varint: read so without a call.
    let q = p + 2
    let n = buf[p + 1]
    if (!(n < 0x80)) {
      q = readVarint(buf, p + 1, buf.length, scratch)
      if (q === BAD) return ((this.badWhy = 'its length is not a number'), BAD)
      if (q === NEED_MORE) return NEED_MORE
      n = scratch.value
    }
    if (n < 10 || n > this.max) return ((this.badWhy = `its length ${n} is out of bounds`), BAD)
    const start = q + 4
    const end = start + n
    if (end > buf.length) return NEED_MORE
    if (crc32(buf, start, end) !== (buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16) | (buf[q + 3] << 24)) >>> 0) return ((this.badWhy = 'its checksum does not match'), BAD)
    if (batch === undefined) return end
    const arrival = readF64(buf, start)
    let at = readVarint(buf, start + 8, end, scratch)
    const offset = scratch.value
    if (at >= 0) at = readVarint(buf, at, end, scratch)
    if (at < 0 || at + scratch.value > end) return ((this.badWhy = 'its fields run past its end'), BAD)
    const topicEnd = at + scratch.value
    // Consecutive records mostly share their topic: compare bytes rather than decode a string each time.
    if (!sameBytes(this.lastTopicBytes, buf, at, topicEnd)) {
      this.lastTopicBytes = Buffer.from(buf.subarray(at, topicEnd))
      this.lastTopic = this.lastTopicBytes.toString('utf8')
    }
    const frameNo = ++this.frameNo
    let event: unknown
    try {
      event = this.encoding.decode(buf, topicEnd, end)
    } catch (e) {
      batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${base + p}) does not decode as ${this.encoding.name}: ${errorMessage(e)}`, Buffer.from(buf.subarray(topicEnd, end))))
      return end
    }
    batch.push({ offset, arrival, topic: this.lastTopic, event })
    return end
  }
}
