import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { isDeadLetter, readLog, writeLog, type LogEntry, type LogRecord, type LogSource } from './log.ts'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { crc32, encodeFrame, logHeader, MAGIC } from './framedLog.ts'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { json } from '../connectors/encodings/encoding.ts'
import type { DeadLetter } from '../dsl/sides.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import { replay } from './replay.ts'
import { record } from './record.ts'
import { run } from './run.ts'
import { fromLog } from '../connectors/sources.ts'
import { fileCheckpoints } from './checkpoint.ts'

const dir = mkdtempSync(join(tmpdir(), 'weir-framed-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Click {
  readonly user: string
  readonly at: number
  readonly page: string | null
}
const CLICK = { type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }, { name: 'at', type: 'long' }, { name: 'page', type: ['null', 'string'] }] }
const clicks: LogRecord<Click>[] = Array.from({ length: 50 }, (_, i) => ({
  offset: i + 1,
  arrival: 1_000 + i * 10,
  topic: i % 3 === 0 ? 'clicks' : 'clicks-ä',
  event: { user: `u${i % 4}`, at: 1_000 + i * 10 - (i % 5), page: i % 2 === 0 ? null : `/p${i}` },
}))

const read = async (src: LogSource) => {
  const entries: LogEntry[] = []
  for await (const b of readLog(src)) entries.push(...b)
  return entries
}
const plain = (entries: LogEntry[]) => entries.map((e) => (isDeadLetter(e) ? e : { ...e, event: { ...(e.event as object) } }))
const write = async (path: string, records: readonly LogRecord[], encoding = avro(CLICK)) => {
  const w = writeLog(path, { encoding })
  for (const r of records) w.write(r)
  await w.close()
  return path
}
/** A byte stream of `bytes` in pieces of `size` bytes: frames split across chunks anywhere. */
const inPieces = (bytes: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)))

describe('binary logs', () => {
  it.each([
    ['avro', () => avro(CLICK)],
    ['msgpack', () => msgpack()],
  ])('a %s log written by writeLog reads back as the same records, with offsets, arrivals and topics', async (name, encoding) => {
    const path = await write(join(dir, `clicks.${name}`), clicks, encoding())
    const bytes = readFileSync(path)
    expect(bytes.subarray(0, MAGIC.length)).toEqual(MAGIC)
    expect(plain(await read(path))).toEqual(clicks)
    // Split into pieces of every size up to a frame and more: frames across chunk boundaries.
    for (const size of [1, 7, 64]) expect(plain(await read(inPieces(bytes, size)))).toEqual(clicks)
  })

  it('frames whose lengths take one varint byte or more read back, with any arrival', async () => {
    const sized: LogRecord<Click>[] = Array.from({ length: 40 }, (_, i) => ({
      offset: 1 + i * 1_000,
      arrival: [-1.5, 0, 2 ** 53, 1.7e-300][i % 4] + i,
      topic: 't'.repeat(i * 5),
      event: { user: 'u'.repeat(i * 4), at: i, page: null },
    }))
    const path = await write(join(dir, 'sized.avro'), sized)
    expect(plain(await read(path))).toEqual(sized)
    expect(plain(await read(inPieces(readFileSync(path), 13)))).toEqual(sized)
  })

  it('json() writes NDJSON, as no encoding does', async () => {
    const path = await write(join(dir, 'clicks.ndjson'), clicks.slice(0, 2), json())
    expect(readFileSync(path, 'utf8')).toBe(clicks.slice(0, 2).map((r) => JSON.stringify(r) + '\n').join(''))
  })

  it('Avro and MessagePack logs are smaller than NDJSON of the same records', async () => {
    const ndjson = readFileSync(await write(join(dir, 'size.ndjson'), clicks, json())).length
    expect(readFileSync(await write(join(dir, 'size.avro'), clicks)).length).toBeLessThan(ndjson * 0.6)
    expect(readFileSync(await write(join(dir, 'size.msgpack'), clicks, msgpack())).length).toBeLessThan(ndjson * 0.8)
  })

  it('replay gives the same results from a binary log as from its NDJSON twin', async () => {
    const perUser = pipeline({ eventTime: (c: Click) => c.at }, (s) => pipe(s, keyBy((c) => c.user), window(tumbling(100)), aggregate({ n: count })))
    const fromJson = await replay(perUser, await write(join(dir, 'twin.ndjson'), clicks, json()))
    const fromAvro = await replay(perUser, await write(join(dir, 'twin.avro'), clicks))
    expect(fromAvro.out).toEqual(fromJson.out)
    expect(fromAvro.out.length).toBeGreaterThan(0)
  })

  it('run reads a binary log through fromLog, with checkpoints, as it reads NDJSON', async () => {
    const perUser = pipeline({ eventTime: (c: Click) => c.at }, (s) => pipe(s, keyBy((c) => c.user), window(tumbling(100)), aggregate({ n: count })))
    const fromJson = await run(perUser, fromLog(await write(join(dir, 'run.ndjson'), clicks, json())))
    const path = await write(join(dir, 'run.avro'), clicks)
    expect((await run(perUser, fromLog(path))).out).toEqual(fromJson.out)
    const store = fileCheckpoints(join(dir, 'run-cp.json'))
    const checkpointed = await run(perUser, fromLog(path), { checkpoint: { store, everyEvents: 7 } })
    expect(checkpointed.out).toEqual(fromJson.out)
    expect((await store.load())?.offset).toBeGreaterThan(0)
  })

  it('record writes a binary log with an encoding', async () => {
    const path = join(dir, 'recorded.msgpack')
    let t = 0
    async function* events() {
      yield { user: 'a', at: 1, page: null }
      yield { user: 'b', at: 2, page: '/x' }
    }
    await record(events(), path, { topic: 'clicks', encoding: msgpack(), now: () => ++t })
    expect(await read(path)).toEqual([
      { offset: 1, arrival: 1, topic: 'clicks', event: { user: 'a', at: 1, page: null } },
      { offset: 2, arrival: 2, topic: 'clicks', event: { user: 'b', at: 2, page: '/x' } },
    ])
  })

  it('writeLog refuses an event its encoding cannot hold, and writes nothing for it', async () => {
    const path = join(dir, 'refused.avro')
    const w = writeLog(path, { encoding: avro(CLICK) })
    w.write(clicks[0])
    expect(() => w.write({ arrival: 1, event: { user: 5 } })).toThrow()
    w.write(clicks[1])
    await w.close()
    expect(plain(await read(path))).toEqual([clicks[0], { ...clicks[1], offset: 2 }])
  })
})

describe('binary logs: corrupt and truncated frames', () => {
  const frames = clicks.slice(0, 5).map((r) => encodeFrame(r, avro(CLICK)))
  const header = logHeader(avro(CLICK))
  const startOf = (i: number) => header.length + frames.slice(0, i).reduce((n, f) => n + f.length, 0)
  const file = (bytes: Buffer) => {
    const path = join(dir, `corrupt-${Math.random().toString(36).slice(2)}.avro`)
    writeFileSync(path, bytes)
    return path
  }

  it('a flipped byte in a frame is one dead letter giving its byte position; the frames after it are read', async () => {
    const bytes = Buffer.concat([header, ...frames])
    bytes[startOf(2) + 12] ^= 0xff
    const entries = await read(file(bytes))
    expect(entries.filter((e) => !isDeadLetter(e)).map((e) => (e as LogRecord).offset)).toEqual([1, 2, 4, 5])
    const dead = entries[2] as DeadLetter
    expect(dead).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', pos: 3 })
    expect(dead.message).toBe(`record 3 (at byte ${startOf(2)}) is corrupt: its checksum does not match; skipped ${frames[2].length} bytes to the next good frame, at byte ${startOf(3)}`)
  })

  it('garbage between frames is one dead letter, however long', async () => {
    const garbage = Buffer.alloc(3000, 0xa7)
    const entries = await read(inPieces(Buffer.concat([header, frames[0], garbage, frames[1]]), 100))
    expect(entries.map((e) => (isDeadLetter(e) ? 'dead' : (e as LogRecord).offset))).toEqual([1, 'dead', 2])
    expect((entries[1] as DeadLetter).message).toMatch(/skipped 3000 bytes to the next good frame/)
  })

  it('a truncated last frame is a dead letter saying so, after every whole record', async () => {
    const bytes = Buffer.concat([header, ...frames])
    const entries = await read(file(bytes.subarray(0, bytes.length - 3)))
    expect(entries.slice(0, 4).map((e) => (e as LogRecord).offset)).toEqual([1, 2, 3, 4])
    expect(entries[4]).toMatchObject({ reason: 'parse', pos: 5, message: `record 5 (at byte ${startOf(4)}) is truncated: the input ends ${frames[4].length - 3} bytes into it` })
    expect(entries).toHaveLength(5)
  })

  it('an event that does not decode under the header\'s encoding is a dead letter; its neighbours are read', async () => {
    const alien = encodeFrame({ offset: 9, arrival: 1, topic: 't', event: { something: ['else'] } }, msgpack())
    const entries = await read(file(Buffer.concat([header, frames[0], alien, frames[1]])))
    expect(entries.map((e) => (isDeadLetter(e) ? 'dead' : (e as LogRecord).offset))).toEqual([1, 'dead', 2])
    expect((entries[1] as DeadLetter).message).toMatch(/^record 2 \(at byte \d+\) does not decode as avro: /)
  })

  it('a header naming an unknown encoding is one dead letter, and nothing more is read', async () => {
    const xml = Buffer.from('{"encoding":"xml"}')
    const bad = Buffer.concat([MAGIC, Buffer.from([xml.length]), xml, frames[0]])
    expect(await read(file(bad))).toEqual([expect.objectContaining({ reason: 'parse', pos: 0, message: "not a readable weir binary log: unknown encoding 'xml' (encodings: json, avro, msgpack)" })])
    const short = await read(file(Buffer.concat([MAGIC, Buffer.from([40]), Buffer.from('{"enc')])))
    expect(short).toEqual([expect.objectContaining({ reason: 'parse', pos: 0, message: 'not a weir binary log: the input ends inside its header (14 bytes)' })])
  })

  it('a chunk of thousands of frames comes in batches of at most 1024 entries; a corrupt region filling a batch is one dead letter, and reading goes on in the next', async () => {
    const many: LogRecord<Click>[] = Array.from({ length: 3000 }, (_, i) => ({ offset: i + 1, arrival: i, topic: 'c', event: { user: 'u', at: i, page: null } }))
    const framed = many.map((r) => encodeFrame(r, avro(CLICK)))
    // Frames 1024 and 1025 (from 1) corrupt: their dead letter is the first batch's last entry.
    framed[1023] = Buffer.from(framed[1023])
    framed[1023][framed[1023].length - 1] ^= 0xff
    framed[1024] = Buffer.from(framed[1024])
    framed[1024][framed[1024].length - 1] ^= 0xff
    const bytes = Buffer.concat([header, ...framed])
    expect(bytes.length).toBeLessThan(256 * 1024) // one chunk
    const batches: LogEntry[][] = []
    for await (const b of readLog(file(bytes.subarray(0, bytes.length - 2)))) batches.push(b)
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(1024)
    const entries = batches.flat()
    expect(entries.map((e) => (isDeadLetter(e) ? 'dead' : (e as LogRecord).offset))).toEqual([...many.slice(0, 1023).map((r) => r.offset), 'dead', ...many.slice(1025, 2999).map((r) => r.offset), 'dead'])
    const at1024 = header.length + framed.slice(0, 1023).reduce((n, f) => n + f.length, 0)
    expect((entries[1023] as DeadLetter).message).toBe(`record 1024 (at byte ${at1024}) is corrupt: its checksum does not match; skipped ${framed[1023].length + framed[1024].length} bytes to the next good frame, at byte ${at1024 + framed[1023].length + framed[1024].length}`)
    expect((entries.at(-1) as DeadLetter).message).toMatch(/^record 2999 \(at byte \d+\) is truncated: the input ends \d+ bytes into it$/)
  })

  it('crc32 is zlib\'s CRC-32 over any range, of any length', () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 167 + (i >> 3)) & 0xff))
    for (let start = 0; start < 20; start++) for (let end = start; end <= 300; end += 1 + (end % 7)) expect(crc32(bytes, start, end)).toBe(zlibCrc32(bytes.subarray(start, end)))
  })

  it('replay counts each corrupt region as one dead letter and goes on', async () => {
    const bytes = Buffer.concat([header, ...frames])
    bytes[startOf(1) + 5] ^= 0x01
    const echo = pipeline({}, (s) => s)
    const { out, deadLetters, metrics } = await replay(echo, file(bytes))
    expect(out).toHaveLength(4)
    expect(deadLetters).toHaveLength(1)
    expect(metrics.eventsIn).toBe(5)
  })
})
