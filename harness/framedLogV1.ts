import { deadLetter, errorMessage } from '../dsl/sides.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'
import type { LogEntry, LogRecord } from './log.ts'
import { BAD, BATCH, crc32, NEED_MORE, readF64, readVarint, sameBytes, varintLength, writeVarint, type FrameScanner, type Varint } from './framedBytes.ts'

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

/**
 * Reads version-1 frames. A frame whose sync byte, length or checksum is wrong, or a truncated last
 * frame, is a `'parse'` dead letter giving its byte position; reading resumes at the next frame
 * whose checksum holds, so one corrupt region costs one dead letter and the records in it.
 */
export class V1Frames implements FrameScanner {
  private readonly scratch: Varint = { value: 0 }
  private frameNo = 0
  /** Where a corrupt region began and why, while looking for the next good frame. */
  private corrupt: { at: number; why: string; runsPastEnd: boolean } | undefined
  private lastTopic = ''
  private lastTopicBytes: Buffer = Buffer.alloc(0)
  private badWhy = ''

  constructor(
    private readonly encoding: Encoding,
    private readonly max: number,
  ) {}

  /**
   * The frame at `p` of `buf`: its end (after pushing its record or a decode dead letter to
   * `batch`), NEED_MORE, or BAD (with the reason in `badWhy`). `base` is `buf`'s position in the input.
   */
  private frameAt(buf: Buffer, base: number, p: number, batch: LogEntry[] | undefined): number {
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

  private endCorrupt(batch: LogEntry[], what: string): void {
    const frameNo = ++this.frameNo
    batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${this.corrupt!.at}) ${what}`))
    this.corrupt = undefined
  }

  scan(buf: Buffer, base: number, batch: LogEntry[], last: boolean): number {
    let p = 0
    while (p < buf.length) {
      if (batch.length >= BATCH) return p
      if (this.corrupt !== undefined) {
        // Looking for the next good frame: a sync byte whose frame's checksum holds.
        const s = buf.indexOf(SYNC, p)
        if (s === -1) {
          p = buf.length
          break
        }
        const end = this.frameAt(buf, base, s, undefined)
        if (end === NEED_MORE && !last) return s
        if (end < 0) {
          p = s + 1
          continue
        }
        this.endCorrupt(batch, `is corrupt: ${this.corrupt.why}; skipped ${base + s - this.corrupt.at} bytes to the next good frame, at byte ${base + s}`)
        p = s
        continue
      }
      const end = this.frameAt(buf, base, p, batch)
      if (end >= 0) {
        p = end
        continue
      }
      if (end === NEED_MORE && !last) return p
      this.corrupt = end === NEED_MORE ? { at: base + p, why: 'it runs past the end of the input', runsPastEnd: true } : { at: base + p, why: this.badWhy, runsPastEnd: false }
      p++
    }
    if (last && this.corrupt !== undefined)
      this.endCorrupt(batch, this.corrupt.runsPastEnd ? `is truncated: the input ends ${base + buf.length - this.corrupt.at} bytes into it` : `is corrupt: ${this.corrupt.why}; no good frame follows it`)
    return p
  }

  unfinished(at: number, bytes: number): LogEntry | undefined {
    if (this.corrupt !== undefined) return undefined
    const frameNo = ++this.frameNo
    return deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${at}) has ${bytes} bytes the writer had not finished when following stopped`)
  }
}
