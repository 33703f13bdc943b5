import * as zlib from 'node:zlib'
import { deadLetter } from '../dsl/sides.ts'
import type { LogEntry } from './log.ts'

/** Byte-level pieces of the binary log format (harness/framedLog.ts): varints, doubles, checksums. */

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

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

/**
 * CRC-32 of a whole block of records: zlib's (Node 20.15+, vectorised: measured about 5x faster
 * than `crc32` over 16 KiB, where one native call is nothing beside the bytes), else `crc32`.
 */
export const blockCrc32 = (data: Buffer, start: number, end: number): number =>
  nativeCrc32 !== undefined ? nativeCrc32(data.subarray(start, end)) >>> 0 : crc32(data, start, end)

export const readU32 = (buf: Uint8Array, at: number): number => (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0

export const varintLength = (n: number): number => {
  let k = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    k++
  }
  return k
}

/** Writes `n` (a safe non-negative integer) as a LEB128 varint at `at`; returns the end. */
export const writeVarint = (buf: Uint8Array, at: number, n: number): number => {
  while (n >= 128) {
    buf[at++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  buf[at++] = n
  return at
}

/** What the bytes at a position are: complete, in need of more bytes, or not what they should be. */
export const NEED_MORE = -1
export const BAD = -2

/** Where `readVarint` leaves the value it read (one object per reader, not one per varint). */
export interface Varint {
  value: number
}

/**
 * Reads a varint at `at` that must end before `end`: its value goes to `scratch.value` and its end is
 * returned; NEED_MORE when the bytes stop first, BAD past 8 bytes (no safe integer needs more).
 */
export const readVarint = (buf: Uint8Array, at: number, end: number, scratch: Varint): number => {
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

/** A little-endian double is read through a one-double array; on a big-endian platform its bytes go in reversed (index ^ 7). */
const F64 = new Float64Array(1)
const F64_BYTES = new Uint8Array(F64.buffer)
const F64_SWAP = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 7

/** The little-endian double at `at` (Buffer#readDoubleLE validates its argument on every call; the bytes are known there). */
export const readF64 = (buf: Uint8Array, at: number): number => {
  for (let i = 0; i < 8; i++) F64_BYTES[F64_SWAP ^ i] = buf[at + i]
  return F64[0]
}

/** True when `a` holds the bytes `b[start, end)` (short topics: a loop beats a native compare's call). */
export const sameBytes = (a: Uint8Array, b: Uint8Array, start: number, end: number): boolean => {
  if (a.length !== end - start) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false
  return true
}

/**
 * The most entries in one batch. A 256 KiB chunk holds thousands of short records: a batch per chunk
 * keeps every decoded event alive until the whole chunk is read, and the young-generation GC then
 * copies them (measured: 1 MiB chunks read msgpack records at half the speed of 256 KiB ones).
 */
export const BATCH = 1024

/** Reads one version of the format's records (after the header), chunk by chunk. */
export interface FrameScanner {
  /**
   * Reads what `buf` holds (byte `base` of the input onwards) into `batch`, until it holds BATCH
   * entries or what is left is incomplete; returns the bytes read. At the end of input (`last`), an
   * incomplete record is truncated.
   */
  scan(buf: Buffer, base: number, batch: LogEntry[], last: boolean): number
  /** Following stopped with `bytes` unread at byte `at`: their dead letter, or undefined to read them as truncated. */
  unfinished(at: number, bytes: number): LogEntry | undefined
}

/**
 * A scanner of units (v1 frames, v2 blocks) that each start with a sync marker and carry a
 * checksum. A unit whose marker, length or checksum is wrong, or a truncated last one, starts a
 * corrupt region: reading resumes at the next marker whose unit is whole and sound, and the region
 * is one `'parse'` dead letter giving its byte position, counted as one record.
 */
export abstract class Resyncing implements FrameScanner {
  /** Records read so far, corrupt regions counted as one each. */
  protected frameNo = 0
  /** Why `unitAt` last answered BAD. */
  protected badWhy = ''
  /** Where a corrupt region began and why, while looking for the next good unit. */
  private corrupt: { at: number; why: string; runsPastEnd: boolean } | undefined

  constructor(
    /** The bytes every unit starts with, and what a unit is called in messages. */
    private readonly sync: number | Buffer,
    private readonly unit: 'frame' | 'block',
  ) {}

  /**
   * The unit at `p` of `buf` (byte `base` of the input): its end (after pushing its entries to
   * `batch`, if given), NEED_MORE, or BAD (with the reason in `badWhy`).
   */
  protected abstract unitAt(buf: Buffer, base: number, p: number, batch: LogEntry[] | undefined): number

  /** How the unit at byte `at`, the first record of which is `frameNo`, is named in a dead letter. */
  protected abstract named(at: number, frameNo: number): string

  scan(buf: Buffer, base: number, batch: LogEntry[], last: boolean): number {
    const syncLength = typeof this.sync === 'number' ? 1 : this.sync.length
    let p = 0
    while (p < buf.length) {
      if (batch.length >= BATCH) return p
      if (this.corrupt !== undefined) {
        const s = buf.indexOf(this.sync, p)
        if (s === -1) {
          // A marker may begin in the last bytes and end in the next chunk.
          p = last ? buf.length : Math.max(p, buf.length - syncLength + 1)
          break
        }
        const end = this.unitAt(buf, base, s, undefined)
        if (end === NEED_MORE && !last) return s
        if (end < 0) {
          p = s + 1
          continue
        }
        this.endCorrupt(batch, `is corrupt: ${this.corrupt.why}; skipped ${base + s - this.corrupt.at} bytes to the next good ${this.unit}, at byte ${base + s}`)
        p = s
        continue
      }
      const end = this.unitAt(buf, base, p, batch)
      if (end >= 0) {
        p = end
        continue
      }
      if (end === NEED_MORE && !last) return p
      this.corrupt = end === NEED_MORE ? { at: base + p, why: 'it runs past the end of the input', runsPastEnd: true } : { at: base + p, why: this.badWhy, runsPastEnd: false }
      p++
    }
    if (last && this.corrupt !== undefined)
      this.endCorrupt(batch, this.corrupt.runsPastEnd ? `is truncated: the input ends ${base + buf.length - this.corrupt.at} bytes into it` : `is corrupt: ${this.corrupt.why}; no good ${this.unit} follows it`)
    return p
  }

  unfinished(at: number, bytes: number): LogEntry | undefined {
    if (this.corrupt !== undefined) return undefined
    const frameNo = ++this.frameNo
    return deadLetter('parse', 'source', frameNo, `${this.named(at, frameNo)} has ${bytes} bytes the writer had not finished when following stopped`)
  }

  private endCorrupt(batch: LogEntry[], what: string): void {
    const frameNo = ++this.frameNo
    batch.push(deadLetter('parse', 'source', frameNo, `${this.named(this.corrupt!.at, frameNo)} ${what}`))
    this.corrupt = undefined
  }
}
