import { closeSync, openSync, readSync } from 'node:fs'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'
import { blockCodec, type BlockCodec, type Encoding } from '../connectors/encodings/encoding.ts'
import { encodingNamed } from '../connectors/encodings/named.ts'
import type { LogEntry, LogRecord } from './log.ts'
import { BAD, BATCH, blockCrc32, NEED_MORE, readF64, readU32, readVarint, Resyncing, sameBytes, varintLength, writeVarint, type FrameScanner, type Varint } from './framedBytes.ts'
import { V1Frames } from './framedLogV1.ts'

/**
 * The binary recorded-log format, version 2 (docs/encodings.md): a header naming the events'
 * encoding, then blocks of records, each record carrying the same fields as an NDJSON line. A block
 * starts with a 4-byte sync marker and carries one CRC-32 of its body, so a reader tells a corrupt
 * block from a good one and finds the next good block after it. One checksum per block, not per
 * record: in JS a CRC per record cost about a quarter of reading it, zlib's over a block is nearly free.
 *
 *   file   = MAGIC (version 2), varint n, header (n bytes of JSON: { "encoding", "schema"? }), block*
 *   block  = SYNC (4 bytes), varint n, u32le crc32(body), body (n bytes)
 *   body   = varint count, varint s, shared (s bytes), record{count}
 *   record = varint m, then m bytes: f64le arrival, varint offset, varint t,
 *            topic (t - 1 bytes of UTF-8; t = 0: the topic of the block's record before), event bytes
 *
 * `shared` is what the block's events share (MessagePack's record shapes), read before them.
 * Version-1 logs (a CRC per record, harness/framedLogV1.ts) are still read.
 */

/** `\x89WEIRLG` and the format's version: 0x89 cannot start UTF-8 text, so no NDJSON log starts so. */
export const MAGIC = Buffer.from([0x89, 0x57, 0x45, 0x49, 0x52, 0x4c, 0x47, 0x02])
/** The bytes before the version, the same in every version. */
const SIGNATURE = MAGIC.length - 1
const SYNC = Buffer.from([0xa7, 0x42, 0x4c, 0x4b])
/** The default longest record (and, beside a block's other records, block) read; a longer length is taken for corruption. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
/**
 * A writer seals a block at this many records or bytes: a corrupt spot costs at most a block, and a
 * block's events fit in a batch of the reader's (a batch's events are kept alive together).
 */
const BLOCK_RECORDS = 256
const BLOCK_BYTES = 16 * 1024

/** True when `head` begins with the binary log's magic bytes (of any version: the reader says which it reads). */
export const isFramedLog = (head: Uint8Array): boolean => head.length >= MAGIC.length && MAGIC.subarray(0, SIGNATURE).equals(head.subarray(0, SIGNATURE))

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

/** The bytes a binary log starts with, for events in `encoding`; `magic` is another version's (tests write old logs). */
export function logHeader(encoding: Encoding, magic: Buffer = MAGIC): Buffer {
  const header = Buffer.from(JSON.stringify(encoding.schema === undefined ? { encoding: encoding.name } : { encoding: encoding.name, schema: encoding.schema }))
  const out = Buffer.allocUnsafe(magic.length + varintLength(header.length) + header.length)
  magic.copy(out, 0)
  header.copy(out, writeVarint(out, magic.length, header.length))
  return out
}

/**
 * Gathers records into blocks: `add` each, and `seal` a block once `full` (or when the bytes must
 * go out). An event the encoding refuses throws in `add`, before anything of it is kept.
 */
export class BlockWriter {
  private readonly codec: BlockCodec
  private buf = Buffer.allocUnsafe(BLOCK_BYTES * 2)
  private at = 0
  private count = 0
  private topic: string | undefined

  constructor(encoding: Encoding) {
    this.codec = blockCodec(encoding)
  }

  /** True once the block under way should be sealed. */
  get full(): boolean {
    return this.count >= BLOCK_RECORDS || this.at >= BLOCK_BYTES
  }

  add(r: LogRecord): void {
    const event = this.codec.encode(r.event)
    const same = r.topic === this.topic
    const topicBytes = same ? 0 : Buffer.byteLength(r.topic)
    const t = same ? 0 : topicBytes + 1
    const m = 8 + varintLength(r.offset) + varintLength(t) + topicBytes + event.length
    const need = this.at + varintLength(m) + m
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2))
      this.buf.copy(grown, 0, 0, this.at)
      this.buf = grown
    }
    const buf = this.buf
    let at = writeVarint(buf, this.at, m)
    buf.writeDoubleLE(r.arrival, at)
    at = writeVarint(buf, writeVarint(buf, at + 8, r.offset), t)
    if (!same) at += buf.write(r.topic, at, 'utf8')
    buf.set(event, at)
    this.at = at + event.length
    this.topic = r.topic
    this.count++
  }

  /** The block of the records added since the last seal (undefined if none), and a fresh one begun. */
  seal(): Buffer | undefined {
    if (this.count === 0) return undefined
    const shared = this.codec.seal()
    const n = varintLength(this.count) + varintLength(shared.length) + shared.length + this.at
    const block = Buffer.allocUnsafe(SYNC.length + varintLength(n) + 4 + n)
    SYNC.copy(block, 0)
    const crcAt = writeVarint(block, SYNC.length, n)
    const start = crcAt + 4
    let at = writeVarint(block, writeVarint(block, start, this.count), shared.length)
    block.set(shared, at)
    this.buf.copy(block, at + shared.length, 0, this.at)
    block.writeUInt32LE(blockCrc32(block, start, block.length), crcAt)
    this.at = 0
    this.count = 0
    this.topic = undefined
    return block
  }
}

/** Options of `readFrames`. */
export interface ReadFramesOptions {
  readonly maxFrameBytes?: number
  readonly onProgress?: ((bytesRead: number) => void) | undefined
  /** Following a growing file: a block still incomplete at the end was not finished by its writer. */
  readonly following?: boolean
}

/**
 * Reads a binary log's bytes (starting with its header) as batches of entries, at most about BATCH
 * each. A block whose sync marker, length or checksum is wrong, or a truncated last block, is one
 * `'parse'` dead letter giving its byte position; reading resumes at the next block whose checksum
 * holds, so one corrupt region costs one dead letter and the records in it. An event that does not
 * decode is a dead letter too (its block was whole: reading goes on at the next record). Positions
 * of dead letters count records from 1, as a text log's count lines.
 */
export async function* readFrames(chunks: AsyncIterable<Uint8Array | string>, opts: ReadFramesOptions = {}): AsyncGenerator<LogEntry[], void, undefined> {
  const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  let frames: FrameScanner | undefined
  /** Unread bytes, starting at byte `base` of the input. */
  let buf: Buffer = Buffer.alloc(0)
  let base = 0
  let bytesRead = 0
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    bytesRead += bytes.length
    buf = buf.length === 0 ? bytes : Buffer.concat([buf, bytes])
    if (frames === undefined) {
      const header = readHeader(buf)
      if (header === NEED_MORE) continue
      if ('reason' in header) {
        yield [header]
        return
      }
      frames = header.version === 1 ? new V1Frames(header.encoding, max) : new Blocks(header.encoding, max)
      base = header.end
      buf = buf.subarray(header.end)
    }
    let progressed = false
    for (;;) {
      const batch: LogEntry[] = []
      const used = frames.scan(buf, base, batch, false)
      base += used
      buf = used >= buf.length ? Buffer.alloc(0) : buf.subarray(used)
      if (!progressed && opts.onProgress !== undefined) opts.onProgress(bytesRead)
      progressed = true
      if (batch.length > 0) yield batch
      if (batch.length < BATCH) break
    }
  }
  if (frames === undefined) {
    yield [deadLetter('parse', 'source', 0, `not a weir binary log: the input ends inside its header (${bytesRead} bytes)`)]
    return
  }
  if (buf.length === 0) {
    // A corrupt region still open at the end is reported by a last scan.
    const batch: LogEntry[] = []
    frames.scan(buf, base, batch, true)
    if (batch.length > 0) yield batch
    return
  }
  const unfinished = opts.following ? frames.unfinished(base, buf.length) : undefined
  if (unfinished !== undefined) {
    yield [unfinished]
    return
  }
  for (;;) {
    const batch: LogEntry[] = []
    const used = frames.scan(buf, base, batch, true)
    base += used
    buf = buf.subarray(used)
    if (batch.length > 0) yield batch
    if (buf.length === 0 && batch.length < BATCH) return
  }
}

/**
 * Reads version-2 blocks. Reading a block's records decodes them all into the batch: a block holds
 * a bounded number of bytes, so a batch is at most BATCH entries and a block's.
 */
class Blocks extends Resyncing {
  private readonly codec: BlockCodec
  private readonly scratch: Varint = { value: 0 }
  private lastTopic = ''
  private lastTopicBytes: Buffer = Buffer.alloc(0)

  constructor(
    private readonly encoding: Encoding,
    private readonly max: number,
  ) {
    super(SYNC, 'block')
    this.codec = blockCodec(encoding)
  }

  protected named(at: number, frameNo: number): string {
    return `the block at byte ${at} (from record ${frameNo})`
  }

  /**
   * The block at `p` of `buf`: its end (after pushing its entries to `batch`, if given), NEED_MORE,
   * or BAD (with the reason in `badWhy`). `base` is `buf`'s position in the input.
   */
  protected unitAt(buf: Buffer, base: number, p: number, batch: LogEntry[] | undefined): number {
    for (let i = 0; i < SYNC.length; i++) {
      if (p + i >= buf.length) return NEED_MORE
      if (buf[p + i] !== SYNC[i]) return ((this.badWhy = 'no block starts there'), BAD)
    }
    const q = readVarint(buf, p + SYNC.length, buf.length, this.scratch)
    if (q === BAD) return ((this.badWhy = 'its length is not a number'), BAD)
    if (q === NEED_MORE) return NEED_MORE
    const n = this.scratch.value
    if (n < 2 || n > this.max + BLOCK_BYTES) return ((this.badWhy = `its length ${n} is out of bounds`), BAD)
    const start = q + 4
    const end = start + n
    if (end > buf.length) return NEED_MORE
    if (blockCrc32(buf, start, end) !== readU32(buf, q)) return ((this.badWhy = 'its checksum does not match'), BAD)
    if (batch !== undefined) this.records(buf, base + p, start, end, batch)
    return end
  }

  /**
   * The records of a block whose checksum holds, `buf[start, end)`, into `batch`. A block its
   * checksum vouches for but whose records do not fill it as it says (a writer's bug, not
   * corruption) gives a dead letter for its rest.
   */
  private records(buf: Buffer, at: number, start: number, end: number, batch: LogEntry[]): void {
    const scratch = this.scratch
    const first = this.frameNo + 1
    let q = readVarint(buf, start, end, scratch)
    const count = scratch.value
    if (q >= 0) q = readVarint(buf, q, end, scratch)
    if (q < 0 || q + scratch.value > end) return this.malformed(batch, at, first, 'its header runs past its end')
    try {
      this.codec.open(buf, q, q + scratch.value)
    } catch (e) {
      return this.malformed(batch, at, first, `its shared part does not decode as ${this.encoding.name}: ${errorMessage(e)}`)
    }
    q += scratch.value
    let haveTopic = false
    for (let k = 0; k < count; k++) {
      // A short record's length is a one-byte varint: read so without a call.
      let m = q < end ? buf[q] : 0x80
      if (m < 0x80) q++
      else {
        q = readVarint(buf, q, end, scratch)
        m = scratch.value
      }
      const recordEnd = q + m
      if (q < 0 || m < 10 || recordEnd > end) return this.malformed(batch, at, first, `record ${this.frameNo + 1} runs past its end`)
      const arrival = readF64(buf, q)
      let r = readVarint(buf, q + 8, recordEnd, scratch)
      const offset = scratch.value
      if (r >= 0) r = readVarint(buf, r, recordEnd, scratch)
      const t = scratch.value
      if (r < 0 || r + t - 1 > recordEnd || (t === 0 && !haveTopic)) return this.malformed(batch, at, first, `the fields of record ${this.frameNo + 1} run past its end`)
      if (t > 0) {
        const topicEnd = r + t - 1
        // Blocks mostly share their topic: compare bytes rather than decode a string each time.
        if (!sameBytes(this.lastTopicBytes, buf, r, topicEnd)) {
          this.lastTopicBytes = Buffer.from(buf.subarray(r, topicEnd))
          this.lastTopic = this.lastTopicBytes.toString('utf8')
        }
        r = topicEnd
        haveTopic = true
      }
      const frameNo = ++this.frameNo
      q = recordEnd
      let event: unknown
      try {
        event = this.codec.decode(buf, r, recordEnd)
      } catch (e) {
        batch.push(deadLetter('parse', 'source', frameNo, `record ${frameNo} (in the block at byte ${at}) does not decode as ${this.encoding.name}: ${errorMessage(e)}`, Buffer.from(buf.subarray(r, recordEnd))))
        continue
      }
      batch.push({ offset, arrival, topic: this.lastTopic, event })
    }
    if (q !== end) this.malformed(batch, at, first, `${end - q} bytes are left after its ${count} records`)
  }

  private malformed(batch: LogEntry[], at: number, first: number, why: string): void {
    const frameNo = ++this.frameNo
    batch.push(deadLetter('parse', 'source', frameNo, `the block at byte ${at} (from record ${first}) is malformed, though its checksum holds: ${why}`))
  }
}

/** The header at the start of `buf`: the format's version, the encoding and where records begin, NEED_MORE, or a dead letter saying what is wrong. */
function readHeader(buf: Buffer): { version: number; encoding: Encoding; end: number } | DeadLetter | typeof NEED_MORE {
  if (buf.length < MAGIC.length) return NEED_MORE
  if (!isFramedLog(buf)) return deadLetter('parse', 'source', 0, 'not a weir binary log: its first bytes are not the format\'s magic bytes')
  const version = buf[SIGNATURE]
  if (version !== 1 && version !== 2) return deadLetter('parse', 'source', 0, `not a readable weir binary log: it is in version ${version} of the format, and this weir reads versions 1 and 2`)
  const scratch = { value: 0 }
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
    return { version, encoding: encodingNamed(header.encoding, header.schema as string | undefined), end }
  } catch (e) {
    // A missing peer (avsc, msgpackr) is thrown: no record of the file can be read without it.
    if (!(e instanceof TypeError)) throw e
    return deadLetter('parse', 'source', 0, `not a readable weir binary log: ${e.message}`)
  }
}
