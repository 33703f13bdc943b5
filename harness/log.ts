import { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'
import { BlockWriter, isFramedLog, logHeader, MAGIC, readFrames } from './framedLog.ts'
import { LineShapes, MISS } from './lineShapes.ts'

/** The topic of a record whose line has none. */
export const DEFAULT_TOPIC = 'default'

/**
 * One record of a recorded log, after defaults: `offset` (the line number when the line has none),
 * `arrival` (processing time in ms: when replay delivers it), `topic` (`'default'` when absent) and
 * the `event` itself.
 */
export interface LogRecord<E = unknown> {
  readonly offset: number
  readonly arrival: number
  readonly topic: string
  readonly event: E
}

/** A record as written in a log line: `offset` and `topic` may be omitted. */
export interface LogRecordInput<E = unknown> {
  readonly offset?: number
  readonly arrival: number
  readonly topic?: string
  readonly event: E
}

/** What reading a log yields, in line order: records, and dead letters (reason `'parse'`) for malformed lines. */
export type LogEntry = LogRecord | DeadLetter

/**
 * Where a log comes from: a file path, a readable stream of its bytes (standard input), or an
 * iterable / async iterable of lines (one NDJSON line each, without its newline) or of
 * already-parsed records.
 */
export type LogSource =
  | string
  | NodeJS.ReadableStream
  | Iterable<string | LogRecordInput>
  | AsyncIterable<string | LogRecordInput>

/** True for a readable stream of bytes (split into lines by `readLog`), not an iterable of lines. */
const isByteStream = (s: LogSource): s is NodeJS.ReadableStream =>
  typeof s === 'object' && typeof (s as { pipe?: unknown }).pipe === 'function' && typeof (s as { read?: unknown }).read === 'function'

/** True for a dead letter (a malformed line's, or a broker entry its source could not decode), false for a record. */
export const isDeadLetter = (e: unknown): e is DeadLetter => typeof e === 'object' && e !== null && (e as DeadLetter)._tag === 'DeadLetter'

const malformed = (line: number, message: string, input: unknown): DeadLetter =>
  deadLetter('parse', 'source', line, message, input)

const record = (offset: number, arrival: number, topic: string, event: unknown): LogRecord => ({ offset, arrival, topic, event })

/**
 * Checks a parsed value against the record shape `{ offset?, arrival, topic?, event }` and fills the
 * defaults; anything else becomes a `'parse'` dead letter at `line`.
 */
export function toLogEntry(o: unknown, line: number, input: unknown = o): LogEntry {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    return malformed(line, 'not a log record: expected an object { offset?, arrival, topic?, event }', input)
  const r = o as { offset?: unknown; arrival?: unknown; topic?: unknown; event?: unknown }
  const arrival = r.arrival
  const offset = r.offset
  const topic = r.topic
  const event = r.event
  if (typeof arrival !== 'number' || !Number.isFinite(arrival))
    return malformed(line, `not a log record: arrival must be a finite number, got ${JSON.stringify(arrival) ?? 'nothing'}`, input)
  if (event === undefined) return malformed(line, 'not a log record: event is missing', input)
  if (offset !== undefined && !(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0))
    return malformed(line, `not a log record: offset must be a non-negative integer, got ${JSON.stringify(offset)}`, input)
  if (topic !== undefined && typeof topic !== 'string')
    return malformed(line, `not a log record: topic must be a string, got ${JSON.stringify(topic)}`, input)
  // A complete record is used as it is (it is only ever read): no copy per record on the hot path.
  if (offset !== undefined && topic !== undefined) return o as LogRecord
  return record(offset === undefined ? line : offset, arrival, topic === undefined ? DEFAULT_TOPIC : topic, event)
}

/**
 * Parses one log line (1-based `lineNo`): a record with its defaults, a `'parse'` dead letter for a
 * line that is not JSON or not a record, or undefined for a blank line (skipped, as NDJSON allows).
 *
 * @example
 * parseLine('{"arrival":5,"event":{"x":1}}', 3) // { offset: 3, arrival: 5, topic: 'default', event: { x: 1 } }
 * parseLine('{oops', 4) // { _tag: 'DeadLetter', reason: 'parse', pos: 4, message: 'not JSON: ...', ... }
 */
export function parseLine(line: string, lineNo: number): LogEntry | undefined {
  return parseLearning(line, lineNo, undefined)
}

/** `parseLine`, teaching `shapes` the shape of the line's JSON (see harness/lineShapes.ts). */
function parseLearning(line: string, lineNo: number, shapes: LineShapes | undefined): LogEntry | undefined {
  // One JSON.parse of the whole line: hand-scanning the envelope and parsing only the event was
  // measured no faster, and V8's parser is hard to beat on short lines (a file's lines of a shape
  // seen before are parsed from their bytes instead: `splitShaped`).
  // A byte-order mark some editors write at the start of a file is not part of the first record.
  if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1)
  let o: unknown
  try {
    o = JSON.parse(line)
  } catch (e) {
    if (line.trim() === '') return undefined
    return malformed(lineNo, `not JSON: ${errorMessage(e)}`, line)
  }
  if (shapes !== undefined) shapes.learn(o)
  return toLogEntry(o, lineNo, line)
}

/** Options of `readLog`. */
export interface ReadLogOptions {
  /** Entries per batch for iterable sources (default 1024). A file yields one batch per chunk read. */
  readonly batchSize?: number
  /** Bytes per read for file sources (default 256 KiB). */
  readonly chunkSize?: number
  /** Called after each chunk of a file with the bytes read so far (for progress bars). */
  readonly onProgress?: (bytesRead: number) => void
  /**
   * The longest line read, in bytes (default 16 MiB). A longer line is a `'too-long'` dead letter
   * with its line number and length, and it is never held in memory whole: its bytes are counted
   * and dropped as they come.
   */
  readonly maxLineBytes?: number
  /**
   * Follow a log file that is still being written (as `tail -f`): at its end, wait for more
   * (polling every `pollMs`, default 200) instead of finishing, and read only complete lines, so a
   * line the writer has half written is read once its newline comes. Reading ends when `signal`
   * aborts; a last line still without its newline then is a `'parse'` dead letter saying so.
   */
  readonly follow?: { readonly signal: AbortSignal; readonly pollMs?: number }
}

const DEFAULT_BATCH = 1024
const DEFAULT_CHUNK = 256 * 1024
/** The default `maxLineBytes`: far above any sane record, far below V8's longest string (512 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
/** Bytes of a too-long line kept in its dead letter, so a reader can tell what it was. */
const TOO_LONG_SAMPLE = 256

/** The dead letter of line `line` of `bytes` bytes (starting at byte `at` of the input, when known). */
const tooLong = (line: number, at: number | undefined, bytes: number, max: number, head: string): DeadLetter =>
  deadLetter('too-long', 'source', line, `line ${line}${at === undefined ? '' : ` (at byte ${at})`} is ${bytes} bytes long, over maxLineBytes ${max}`, head)

/**
 * Reads a log as a stream of batches of entries, in line order. A file (or byte stream) is read in
 * chunks and split into lines as it goes, so its size does not matter; a malformed line becomes a
 * `'parse'` dead letter with its 1-based line number and reading goes on; a line longer than
 * `maxLineBytes` becomes a `'too-long'` one; blank lines are skipped (but counted). Batching
 * amortizes the cost of async iteration over many records.
 *
 * @example
 * for await (const batch of readLog('examples/data/flights.ndjson'))
 *   for (const e of batch) if (!isDeadLetter(e)) console.log(e.arrival, e.event)
 */
export async function* readLog(source: LogSource, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry[], void, undefined> {
  const max = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  if (!(Number.isSafeInteger(max) && max >= 1)) throw new TypeError(`readLog: maxLineBytes must be a positive integer, got ${String(opts.maxLineBytes)}`)
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK
  const following = typeof source === 'string' && opts.follow !== undefined
  if (typeof source === 'string' || isByteStream(source)) {
    const bytes = typeof source !== 'string' ? source : following ? followFile(source, chunkSize, opts.follow!) : createReadStream(source, { highWaterMark: chunkSize })
    const { head, chunks } = await peek(bytes as AsyncIterable<string | Uint8Array>, MAGIC.length)
    if (isFramedLog(head)) yield* readFrames(chunks, { maxFrameBytes: max, onProgress: opts.onProgress, following })
    else yield* readBytes(chunks, max, opts.onProgress, following)
  } else yield* readIterable(source as Iterable<string | LogRecordInput> | AsyncIterable<string | LogRecordInput>, opts.batchSize ?? DEFAULT_BATCH, max)
}

/**
 * The first `n` bytes of a byte stream (fewer if it ends first), and the whole stream again: which
 * reader a log needs (text or binary) is told by its first bytes.
 */
async function peek(source: AsyncIterable<string | Uint8Array>, n: number): Promise<{ head: Buffer; chunks: AsyncIterable<string | Uint8Array> }> {
  const it = source[Symbol.asyncIterator]()
  const seen: Buffer[] = []
  let length = 0
  let done = false
  while (length < n) {
    const r = await it.next()
    if (r.done) {
      done = true
      break
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    seen.push(b)
    length += b.length
  }
  async function* chunks(): AsyncGenerator<string | Uint8Array> {
    try {
      yield* seen
      if (done) return
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value
    } finally {
      await it.return?.()
    }
  }
  return { head: Buffer.concat(seen), chunks: chunks() }
}

/**
 * Splits a stream of bytes into lines in one pass. Lines are found in the bytes (a newline byte is
 * never part of a multi-byte UTF-8 character), and each chunk's complete lines are decoded in one
 * piece. The start of a line that runs past its chunk is kept as byte pieces, without rescanning or
 * copying them per chunk, and joined once its newline comes; once it passes `max` bytes the pieces
 * are dropped and only its length is counted.
 */
async function* readBytes(
  chunks: AsyncIterable<string | Uint8Array>,
  max: number,
  onProgress: ((bytesRead: number) => void) | undefined,
  following = false,
): AsyncGenerator<LogEntry[], void, undefined> {
  /** The pieces of the line under way, and its length so far (counted on even once dropped). */
  let pieces: Buffer[] = []
  let length = 0
  let dropped = false
  /** Its first bytes, kept for the dead letter once dropped. */
  let head: Buffer = Buffer.alloc(0)
  const decoder = new StringDecoder('utf8')
  const shapes = new LineShapes()
  /** Whether the last chunk's lines were parsed by their shapes, and how many chunks ago they were. */
  let shaped = true
  let unshapedChunks = 0
  let lineNo = 0
  /** Where the line under way starts in the input, in bytes. */
  let lineStart = 0
  let bytes = 0
  /** The line under way grows by `buf[from, to)`. */
  const grow = (buf: Buffer, from: number, to: number) => {
    if (to <= from) return
    length += to - from
    if (!dropped && length <= max) return void pieces.push(buf.subarray(from, to))
    // Over the limit: only the first bytes are kept, for the dead letter.
    if (!dropped) {
      dropped = true
      head = Buffer.concat(pieces, Math.min(length - (to - from), TOO_LONG_SAMPLE))
      pieces = []
    }
    if (head.length < TOO_LONG_SAMPLE) head = Buffer.concat([head, buf.subarray(from, Math.min(to, from + TOO_LONG_SAMPLE - head.length))])
  }
  /** Ends the line under way; its entry, if any, goes to `batch`. */
  const endLine = (batch: LogEntry[]) => {
    lineNo++
    if (dropped) batch.push(tooLong(lineNo, lineStart, length, max, head.toString('utf8')))
    else {
      const e = parseLine(pieces.length === 1 ? pieces[0].toString('utf8') : Buffer.concat(pieces).toString('utf8'), lineNo)
      if (e !== undefined) batch.push(e)
    }
    pieces = []
    length = 0
    dropped = false
  }
  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const base = bytes
    bytes += buf.length
    const batch: LogEntry[] = []
    const last = buf.lastIndexOf(10)
    if (last === -1) grow(buf, 0, buf.length)
    else {
      let start = 0
      // The line carried over from earlier chunks ends at this chunk's first newline.
      if (length > 0) {
        const nl = buf.indexOf(10)
        grow(buf, 0, nl)
        endLine(batch)
        start = nl + 1
      }
      if (start <= last) {
        if (shapes.known && (shaped || ++unshapedChunks >= RETRY_SHAPES_AFTER)) {
          const lines = lineNo
          const misses = { count: 0 }
          lineNo = splitShaped(buf, base, start, last, lineNo, max, batch, shapes, misses)
          // Lines of shapes not learned (more than a few, or not learnable) go back to the block
          // path below, trying shapes again now and then.
          shaped = misses.count * 4 <= lineNo - lines
          unshapedChunks = 0
        }
        // A decoder's string parses faster than `buf.toString`'s (measured: 0.8 s against 1.5 s for
        // 1M lines); `end` leaves it clean, so an invalid byte before a newline stays in its line.
        else if (last - start <= max) lineNo = splitBlock(decoder.end(buf.subarray(start, last)), lineNo, batch, shapes)
        else lineNo = splitBytes(buf, base, start, last, lineNo, max, batch)
      }
      lineStart = base + last + 1
      grow(buf, last + 1, buf.length)
    }
    if (onProgress !== undefined) onProgress(bytes)
    if (batch.length > 0) yield batch
  }
  if (length === 0) return
  if (following) yield [deadLetter('parse', 'source', lineNo + 1, `line ${lineNo + 1} (at byte ${lineStart}) has no newline yet: ${length} bytes the writer had not finished when following stopped`)]
  else {
    const batch: LogEntry[] = []
    endLine(batch)
    yield batch
  }
}

/**
 * The bytes of a file that is still growing: read to its end, then polled every `pollMs` for
 * more, until `signal` aborts. Chunks are yielded as they are read; with no new bytes a chunk of
 * none is yielded on each poll, so the reader can report progress while it waits.
 */
async function* followFile(path: string, chunkSize: number, follow: { readonly signal: AbortSignal; readonly pollMs?: number }): AsyncGenerator<Uint8Array> {
  const { signal } = follow
  const pollMs = follow.pollMs ?? 200
  const file = await open(path, 'r')
  let stop: () => void = () => undefined
  const stopped = new Promise<void>((resolve) => (stop = resolve))
  signal.addEventListener('abort', () => stop(), { once: true })
  try {
    let position = 0
    while (!signal.aborted) {
      const buf = Buffer.allocUnsafe(chunkSize)
      const { bytesRead } = await file.read(buf, 0, chunkSize, position)
      position += bytesRead
      yield buf.subarray(0, bytesRead)
      if (bytesRead > 0) continue
      let timer: NodeJS.Timeout | undefined
      await Promise.race([stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, pollMs)))])
      clearTimeout(timer)
    }
  } finally {
    await file.close()
  }
}

/** Chunks read by `splitBlock` before a reader whose lines stopped matching their shapes tries them again. */
const RETRY_SHAPES_AFTER = 16

/**
 * Parses decoded complete lines (`text` without its last newline), numbering them after `lineNo`;
 * returns the last line number. Only for text too short to hold a line over the limit. Its first
 * line teaches `shapes` its shape, so that the next chunks can be parsed by shape.
 */
function splitBlock(text: string, lineNo: number, batch: LogEntry[], shapes: LineShapes): number {
  let start = 0
  for (;;) {
    const nl = text.indexOf('\n', start)
    const line = nl === -1 ? text.slice(start) : text.slice(start, nl)
    const e = start === 0 ? parseLearning(line, ++lineNo, shapes) : parseLine(line, ++lineNo)
    if (e !== undefined) batch.push(e)
    if (nl === -1) return lineNo
    start = nl + 1
  }
}

/**
 * As `splitBytes`, parsing each line of a shape learned before from its bytes (harness/lineShapes.ts),
 * and any other with `JSON.parse`, which then teaches `shapes` its shape; counts those in `misses`.
 * A record the shape parser reads but that is not a valid log record is parsed again from its text,
 * so that its dead letter is the one `parseLine` gives.
 */
function splitShaped(buf: Buffer, base: number, start: number, end: number, lineNo: number, max: number, batch: LogEntry[], shapes: LineShapes, misses: { count: number }): number {
  for (;;) {
    let nl = buf.indexOf(10, start)
    if (nl === -1 || nl > end) nl = end
    ++lineNo
    if (nl - start > max) batch.push(tooLong(lineNo, base + start, nl - start, max, buf.toString('utf8', start, Math.min(nl, start + TOO_LONG_SAMPLE))))
    else {
      // JSON.parse reads a line's trailing \r (a CRLF file's) as whitespace.
      const o = shapes.parse(buf, start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl)
      const fast = o === MISS ? undefined : toLogEntry(o, lineNo)
      if (fast !== undefined && !isDeadLetter(fast)) batch.push(fast)
      else {
        misses.count++
        const e = parseLearning(buf.toString('utf8', start, nl), lineNo, shapes)
        if (e !== undefined) batch.push(e)
      }
    }
    if (nl === end) return lineNo
    start = nl + 1
  }
}

/**
 * As `splitBlock`, over the bytes `buf[start, end)` that may hold lines over `max` bytes: each line
 * is measured in bytes before it is decoded. `buf` starts at byte `base` of the input.
 */
function splitBytes(buf: Buffer, base: number, start: number, end: number, lineNo: number, max: number, batch: LogEntry[]): number {
  for (;;) {
    let nl = buf.indexOf(10, start)
    if (nl === -1 || nl > end) nl = end
    ++lineNo
    if (nl - start > max) batch.push(tooLong(lineNo, base + start, nl - start, max, buf.toString('utf8', start, Math.min(nl, start + TOO_LONG_SAMPLE))))
    else {
      const e = parseLine(buf.toString('utf8', start, nl), lineNo)
      if (e !== undefined) batch.push(e)
    }
    if (nl === end) return lineNo
    start = nl + 1
  }
}

async function* readIterable(
  source: Iterable<string | LogRecordInput> | AsyncIterable<string | LogRecordInput>,
  batchSize: number,
  max: number,
): AsyncGenerator<LogEntry[], void, undefined> {
  let batch: LogEntry[] = []
  let lineNo = 0
  // An array (tests, benchmarks, notebooks) is read by index, without the iterator protocol. Other
  // iterables share one loop: a sync iterator's items are not awaited (a microtask per line would
  // cost more than parsing it); the iterator is closed if the reader stops early.
  const items = Array.isArray(source) ? (source as readonly (string | LogRecordInput)[]) : undefined
  const it: Iterator<string | LogRecordInput> | AsyncIterator<string | LogRecordInput> | undefined =
    items !== undefined ? undefined : Symbol.iterator in source ? source[Symbol.iterator]() : source[Symbol.asyncIterator]()
  try {
    for (let i = 0; ; ) {
      let item: string | LogRecordInput
      if (items !== undefined) {
        if (i >= items.length) break
        item = items[i++]
      } else {
        let r = it!.next()
        if (r instanceof Promise) r = await r
        if (r.done) break
        item = r.value
      }
      // A string has at most 3 UTF-8 bytes per UTF-16 unit: only a long one needs measuring.
      const e =
        typeof item !== 'string'
          ? toLogEntry(item, ++lineNo)
          : item.length * 3 > max && Buffer.byteLength(item) > max
            ? tooLong(++lineNo, undefined, Buffer.byteLength(item), max, item.slice(0, TOO_LONG_SAMPLE))
            : parseLine(item, ++lineNo)
      if (e === undefined) continue
      batch.push(e)
      if (batch.length >= batchSize) {
        yield batch
        batch = []
      }
    }
  } finally {
    await it?.return?.()
  }
  if (batch.length > 0) yield batch
}

/**
 * Formats a record as one log line (without the newline), keys in the order
 * `offset, arrival, topic, event`.
 *
 * @example
 * formatRecord({ offset: 1, arrival: 10, topic: 't', event: { x: 1 } }) // '{"offset":1,"arrival":10,"topic":"t","event":{"x":1}}'
 */
export function formatRecord(r: LogRecordInput): string {
  checkRecord(r, 'formatRecord')
  const o: Record<string, unknown> = {}
  if (r.offset !== undefined) o.offset = r.offset
  o.arrival = r.arrival
  if (r.topic !== undefined) o.topic = r.topic
  o.event = r.event
  return JSON.stringify(o)
}

/** What the reader accepts, so that a writer never writes a record its own reader refuses. */
function checkRecord(r: LogRecordInput, who: string): void {
  if (typeof r.arrival !== 'number' || !Number.isFinite(r.arrival)) throw new TypeError(`${who}: arrival must be a finite number, got ${String(r.arrival)}`)
  if (r.event === undefined) throw new TypeError(`${who}: event must not be undefined (JSON cannot hold it)`)
  if (r.offset !== undefined && !(typeof r.offset === 'number' && Number.isSafeInteger(r.offset) && r.offset >= 0))
    throw new TypeError(`${who}: offset must be a non-negative integer, got ${String(r.offset)}`)
  if (r.topic !== undefined && typeof r.topic !== 'string') throw new TypeError(`${who}: topic must be a string, got ${String(r.topic)}`)
}

/** Writes records to a log file. */
export interface LogWriter {
  /**
   * Appends a record; a missing offset becomes its line number, a missing topic the writer's
   * topic. Returns false when the file is behind: await `drained()` before writing more.
   */
  write(r: LogRecordInput): boolean
  /** Resolves once buffered lines have been handed to the file (rejects if writing failed). */
  drained(): Promise<void>
  /** Flushes, closes the file and resolves when it is on disk (rejects if writing failed). */
  close(): Promise<void>
  /** Records written so far. */
  readonly count: number
}

/** Options of `writeLog`. */
export interface WriteLogOptions {
  /** Topic of records written without one (default `'default'`). */
  readonly topic?: string
  /**
   * How events are written (see docs/encodings.md): without one, or with `json()`, the log is
   * NDJSON; with `avro(schema)` or `msgpack()` it is the binary log format, a header naming the
   * encoding (and carrying Avro's schema) and then one framed record per event. Every reader of
   * logs (`readLog`, `replay`, `fromLog`, `weir run`) tells the two apart by their first bytes.
   */
  readonly encoding?: Encoding
}

const FLUSH_AT = 64 * 1024

/**
 * Opens a log file for writing (truncating it). Records are buffered and written in blocks; every
 * record carries an explicit offset and topic.
 *
 * @example
 * const w = writeLog('/tmp/clicks.ndjson', { topic: 'clicks' })
 * w.write({ arrival: Date.now(), event: { page: '/' } })
 * await w.close()
 */
export function writeLog(path: string, opts: WriteLogOptions = {}): LogWriter {
  const topic = opts.topic ?? DEFAULT_TOPIC
  const binary = opts.encoding !== undefined && opts.encoding.name !== 'json' ? opts.encoding : undefined
  const out: WriteStream = createWriteStream(path)
  let failure: Error | undefined
  out.on('error', (e) => {
    failure = e
  })
  let pending = ''
  const blocks = binary === undefined ? undefined : new BlockWriter(binary)
  let sealed: Buffer[] = binary === undefined ? [] : [logHeader(binary)]
  let sealedBytes = 0
  let count = 0
  let closed = false
  const flush = (): boolean => {
    if (blocks !== undefined) {
      // Bytes going out end the block under way: a block is written whole, or not at all.
      const block = blocks.seal()
      if (block !== undefined) sealed.push(block)
      if (sealed.length === 0) return !out.writableNeedDrain
      const ok = out.write(sealed.length === 1 ? sealed[0] : Buffer.concat(sealed))
      sealed = []
      sealedBytes = 0
      return ok
    }
    if (pending.length === 0) return !out.writableNeedDrain
    const ok = out.write(pending)
    pending = ''
    return ok
  }
  const settle = (resolve: () => void, reject: (e: Error) => void) => (failure ? reject(failure) : resolve())
  return {
    get count() {
      return count
    },
    write(r) {
      if (closed) throw new Error('writeLog: write after close')
      if (failure) throw failure
      const full = { offset: r.offset ?? count + 1, arrival: r.arrival, topic: r.topic ?? topic, event: r.event }
      if (binary === undefined) {
        pending += formatRecord(full) + '\n'
        count++
        return pending.length < FLUSH_AT || flush()
      }
      checkRecord(full, 'writeLog')
      blocks!.add(full)
      count++
      if (blocks!.full) {
        const block = blocks!.seal()!
        sealed.push(block)
        sealedBytes += block.length
      }
      return sealedBytes < FLUSH_AT || flush()
    },
    drained() {
      return new Promise((resolve, reject) => {
        if (failure) return reject(failure)
        if (flush()) return resolve()
        const done = () => {
          out.off('drain', done)
          out.off('error', done)
          settle(resolve, reject)
        }
        out.on('drain', done)
        out.on('error', done)
      })
    },
    close() {
      closed = true
      flush()
      if (failure) {
        out.destroy()
        return Promise.reject(failure)
      }
      return new Promise<void>((resolve, reject) => {
        // 'close' follows both a finished write and a failed one, once the file descriptor is closed.
        out.once('close', () => settle(resolve, reject))
        out.end()
      })
    },
  }
}
