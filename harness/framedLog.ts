import { closeSync, openSync, readSync } from 'node:fs'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'
import { encodingNamed } from '../connectors/encodings/named.ts'
import type { LogEntry, LogRecord } from './log.ts'

/**
 * The binary recorded-log format (docs/encodings.md): a header naming the events' encoding, then
 * one frame per record carrying the same fields as an NDJSON line. Each frame starts with a sync
 * byte and carries a CRC-32 of its payload, so a reader tells a corrupt frame from a good one and
 * finds the next good frame after it.
 *
 *   file    = MAGIC, varint n, header (n bytes of JSON: { "encoding", "schema"? }), frame*
 *   frame   = SYNC, varint n, u32le crc32(payload), payload (n bytes)
 *   payload = f64le arrival, varint offset, varint t, topic (t bytes of UTF-8), event bytes
 */

/** `\x89WEIRLG` and the format's version: 0x89 cannot start UTF-8 text, so no NDJSON log starts so. */
export const MAGIC = Buffer.from([0x89, 0x57, 0x45, 0x49, 0x52, 0x4c, 0x47, 0x01])
const SYNC = 0xa7
/** The default longest frame payload read; a longer length is taken for corruption. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/**
 * CRC-32 (the zlib polynomial) of `data[start, end)`, in JS, slice-by-8: eight bytes per step through
 * eight tables. zlib's own (Node 20.15+) costs a view and a native call per record, measured 2-4x
 * slower than this on frames of ~50 bytes; slice-by-8 measured about twice the byte-at-a-time loop.
 */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  // Table k gives the CRC of a byte followed by k zero bytes.
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = t[t[(k - 1) * 256 + n] & 0xff] ^ (t[(k - 1) * 256 + n] >>> 8)
  return t
})()

export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  const t = CRC_TABLES
  let c = -1
  let i = start
  for (const stop = end - 7; i < stop; i += 8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))
    c =
      t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^ t[data[i + 7]]
  }
  for (; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** True when `head` begins with the binary log's magic bytes. */
export const isFramedLog = (head: Uint8Array): boolean => head.length >= MAGIC.length && MAGIC.equals(head.subarray(0, MAGIC.length))

/** True when the file at `path` is a binary log (false for NDJSON, or a file that cannot be read). */
export function isFramedLogFile(path: string): boolean {
  try {
    const fd = openSync(path, 'r')
    try {
      const head = Buffer.alloc(MAGIC.length)
      return isFramedLog(head.subarray(0, readSync(fd, head, 0, MAGIC.length, 0)))
    } finally {
      closeSync(fd)
    }
  } catch {
    return false
  }
}

const varintLength = (n: number): number => {
  let k = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    k++
  }
  return k
}

/** Writes `n` (a safe non-negative integer) as a LEB128 varint at `at`; returns the end. */
const writeVarint = (buf: Buffer, at: number, n: number): number => {
  while (n >= 128) {
    buf[at++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  buf[at++] = n
  return at
}

/** The bytes a binary log starts with, for events in `encoding`. */
export function logHeader(encoding: Encoding): Buffer {
  const header = Buffer.from(JSON.stringify(encoding.schema === undefined ? { encoding: encoding.name } : { encoding: encoding.name, schema: encoding.schema }))
  const out = Buffer.allocUnsafe(MAGIC.length + varintLength(header.length) + header.length)
  MAGIC.copy(out, 0)
  header.copy(out, writeVarint(out, MAGIC.length, header.length))
  return out
}

/** One record as a frame. The event is encoded first, so an event the encoding refuses throws before anything is written. */
export function encodeFrame(r: LogRecord, encoding: Encoding): Buffer {
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

/** True when `a` holds the bytes `b[start, end)` (short topics: a loop beats a native compare's call). */
const sameBytes = (a: Uint8Array, b: Uint8Array, start: number, end: number): boolean => {
  if (a.length !== end - start) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false
  return true
}

/**
 * The most entries in one batch. A 256 KiB chunk holds thousands of short frames: a batch per chunk
 * keeps every decoded event alive until the whole chunk is read, and the young-generation GC then
 * copies them (measured: 1 MiB chunks read msgpack records at half the speed of 256 KiB ones).
 */
const BATCH = 1024

/** A little-endian double is read through a one-double array; on a big-endian platform its bytes go in reversed (index ^ 7). */
const F64 = new Float64Array(1)
const F64_BYTES = new Uint8Array(F64.buffer)
const F64_SWAP = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 7

/** What the frame at a position is: complete, in need of more bytes, or not a frame. */
const NEED_MORE = -1
const BAD = -2

/**
 * Reads a varint at `at` that must end before `end`: its value goes to `scratch.value` and its end is
 * returned; NEED_MORE when the bytes stop first, BAD past 8 bytes (no safe integer needs more).
 */
const readVarint = (buf: Buffer, at: number, end: number, scratch: { value: number }): number => {
  let n = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (at >= end) return NEED_MORE
    const b = buf[at++]
    n += (b & 0x7f) * scale
    if (b < 0x80) {
      scratch.value = n
      return at
    }
    scale *= 128
  }
  return BAD
}

/** Options of `readFrames`. */
export interface ReadFramesOptions {
  readonly maxFrameBytes?: number
  readonly onProgress?: ((bytesRead: number) => void) | undefined
  /** Following a growing file: a frame still incomplete at the end was not finished by its writer. */
  readonly following?: boolean
}

/**
 * Reads a binary log's bytes (starting with its header) as batches of entries, one batch per
 * chunk. A frame whose sync byte, length or checksum is wrong, or a truncated last frame, is a
 * `'parse'` dead letter giving its byte position; reading resumes at the next frame whose checksum
 * holds, so one corrupt region costs one dead letter and the records in it. An event that does not
 * decode is a dead letter too (its frame was whole: reading goes on at the next). Positions of dead
 * letters count frames from 1, as a text log's count lines.
 */
export async function* readFrames(chunks: AsyncIterable<Uint8Array | string>, opts: ReadFramesOptions = {}): AsyncGenerator<LogEntry[], void, undefined> {
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const scratch = { value: 0 }
  let encoding: Encoding | undefined
  /** Unread bytes, starting at byte `base` of the input. */
  let buf: Buffer = Buffer.alloc(0)
  let base = 0
  let bytesRead = 0
  let frameNo = 0
  /** Where a corrupt region began and why, while looking for the next good frame. */
  let corrupt: { at: number; why: string; runsPastEnd: boolean } | undefined
  let lastTopic = ''
  let lastTopicBytes: Buffer = Buffer.alloc(0)

  /**
   * The frame at `p` of `buf`: its end (after pushing its record or a decode dead letter to
   * `batch`), NEED_MORE, or BAD (with the reason in `badWhy`).
   */
  let badWhy = ''
  const frameAt = (p: number, batch: LogEntry[] | undefined): number => {
    if (buf[p] !== SYNC) return ((badWhy = `no frame starts there (byte 0x${buf[p].toString(16)})`), BAD)
    // A short frame's length is a one-byte varint: read so without a call.
    let q = p + 2
    let n = buf[p + 1]
    if (!(n < 0x80)) {
      q = readVarint(buf, p + 1, buf.length, scratch)
      if (q === BAD) return ((badWhy = 'its length is not a number'), BAD)
      if (q === NEED_MORE) return NEED_MORE
      n = scratch.value
    }
    if (n < 10 || n > max) return ((badWhy = `its length ${n} is out of bounds`), BAD)
    const start = q + 4
    const end = start + n
    if (end > buf.length) return NEED_MORE
    if (crc32(buf, start, end) !== (buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16) | (buf[q + 3] << 24)) >>> 0) return ((badWhy = 'its checksum does not match'), BAD)
    if (batch === undefined) return end
    // Buffer#readDoubleLE validates its argument on every call; the frame is known whole here.
    for (let i = 0; i < 8; i++) F64_BYTES[F64_SWAP ^ i] = buf[start + i]
    const arrival = F64[0]
    let at = readVarint(buf, start + 8, end, scratch)
    const offset = scratch.value
    if (at >= 0) at = readVarint(buf, at, end, scratch)
    if (at < 0 || at + scratch.value > end) return ((badWhy = 'its fields run past its end'), BAD)
    const topicEnd = at + scratch.value
    // Consecutive records mostly share their topic: compare bytes rather than decode a string each time.
    if (!sameBytes(lastTopicBytes, buf, at, topicEnd)) {
      lastTopicBytes = Buffer.from(buf.subarray(at, topicEnd))
      lastTopic = lastTopicBytes.toString('utf8')
    }
    frameNo++
    let event: unknown
    try {
      event = encoding!.decode(buf, topicEnd, end)
    } catch (e) {
      batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${base + p}) does not decode as ${encoding!.name}: ${errorMessage(e)}`, Buffer.from(buf.subarray(topicEnd, end))))
      return end
    }
    const r: LogRecord = { offset, arrival, topic: lastTopic, event }
    batch.push(r)
    return end
  }

  const endCorrupt = (batch: LogEntry[], what: string) => {
    frameNo++
    batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${corrupt!.at}) ${what}`))
    corrupt = undefined
  }

  /**
   * Reads what `buf` holds, until `batch` has BATCH entries (true then: call again for the rest); at
   * the end of input (`last`), a frame still incomplete is truncated or corrupt.
   */
  const scan = (batch: LogEntry[], last: boolean): boolean => {
    let p = 0
    while (p < buf.length) {
      if (batch.length >= BATCH) {
        base += p
        buf = buf.subarray(p)
        return true
      }
      if (corrupt !== undefined) {
        // Looking for the next good frame: a sync byte whose frame's checksum holds.
        const s = buf.indexOf(SYNC, p)
        if (s === -1) {
          p = buf.length
          break
        }
        const end = frameAt(s, undefined)
        if (end === NEED_MORE && !last) {
          p = s
          break
        }
        if (end < 0) {
          p = s + 1
          continue
        }
        endCorrupt(batch, `is corrupt: ${corrupt.why}; skipped ${base + s - corrupt.at} bytes to the next good frame, at byte ${base + s}`)
        p = s
        continue
      }
      const end = frameAt(p, batch)
      if (end >= 0) {
        p = end
        continue
      }
      if (end === NEED_MORE && !last) break
      corrupt = end === NEED_MORE ? { at: base + p, why: 'it runs past the end of the input', runsPastEnd: true } : { at: base + p, why: badWhy, runsPastEnd: false }
      p++
    }
    if (last && corrupt !== undefined)
      endCorrupt(batch, corrupt.runsPastEnd ? `is truncated: the input ends ${base + buf.length - corrupt.at} bytes into it` : `is corrupt: ${corrupt.why}; no good frame follows it`)
    base += p
    buf = p >= buf.length ? Buffer.alloc(0) : buf.subarray(p)
    return false
  }

  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    bytesRead += bytes.length
    buf = buf.length === 0 ? bytes : Buffer.concat([buf, bytes])
    let batch: LogEntry[] = []
    if (encoding === undefined) {
      const header = readHeader(buf, scratch)
      if (header === NEED_MORE) continue
      if (typeof header === 'object' && 'reason' in header) {
        yield [header]
        return
      }
      encoding = header.encoding
      base = header.end
      buf = buf.subarray(header.end)
    }
    let more = scan(batch, false)
    if (opts.onProgress !== undefined) opts.onProgress(bytesRead)
    if (batch.length > 0) yield batch
    while (more) {
      batch = []
      more = scan(batch, false)
      if (batch.length > 0) yield batch
    }
  }
  if (encoding === undefined) {
    yield [deadLetter('parse', 'source', 0, `not a weir binary log: the input ends inside its header (${bytesRead} bytes)`)]
    return
  }
  if (buf.length === 0 && corrupt === undefined) return
  let batch: LogEntry[] = []
  if (opts.following && corrupt === undefined) {
    frameNo++
    batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (at byte ${base}) has ${buf.length} bytes the writer had not finished when following stopped`))
  } else
    while (scan(batch, true)) {
      yield batch
      batch = []
    }
  if (batch.length > 0) yield batch
}

/** The header at the start of `buf`: the encoding and where frames begin, NEED_MORE, or a dead letter saying what is wrong. */
function readHeader(buf: Buffer, scratch: { value: number }): { encoding: Encoding; end: number } | DeadLetter | typeof NEED_MORE {
  if (buf.length < MAGIC.length) return NEED_MORE
  if (!isFramedLog(buf)) return deadLetter('parse', 'source', 0, 'not a weir binary log: its first bytes are not the format\'s magic bytes')
  const at = readVarint(buf, MAGIC.length, buf.length, scratch)
  if (at === NEED_MORE) return NEED_MORE
  if (at === BAD || scratch.value > DEFAULT_MAX_FRAME_BYTES) return deadLetter('parse', 'source', 0, 'not a weir binary log: its header length is corrupt')
  const end = at + scratch.value
  if (end > buf.length) return NEED_MORE
  let header: { encoding?: unknown; schema?: unknown }
  try {
    header = JSON.parse(buf.toString('utf8', at, end)) as typeof header
  } catch (e) {
    return deadLetter('parse', 'source', 0, `not a weir binary log: its header is not JSON: ${errorMessage(e)}`)
  }
  if (typeof header !== 'object' || header === null || typeof header.encoding !== 'string' || (header.schema !== undefined && typeof header.schema !== 'string'))
    return deadLetter('parse', 'source', 0, 'not a weir binary log: its header does not name an encoding')
  try {
    return { encoding: encodingNamed(header.encoding, header.schema as string | undefined), end }
  } catch (e) {
    // A missing peer (avsc, msgpackr) is thrown: no record of the file can be read without it.
    if (!(e instanceof TypeError)) throw e
    return deadLetter('parse', 'source', 0, `not a readable weir binary log: ${e.message}`)
  }
}
