import { afterAll, describe, expect, it } from 'vitest'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { isDeadLetter, readLog, writeLog, type LogEntry, type LogRecord, type LogSource } from './log.ts'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { BlockWriter, logHeader, MAGIC } from './framedLog.ts'
import { crc32 } from './framedBytes.ts'
import { encodeV1Frame, MAGIC_V1 } from './framedLogV1.ts'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { blockCodec, json, type Encoding } from '../connectors/encodings/encoding.ts'
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

const file = (bytes: Buffer) => {
  const path = join(dir, `bytes-${Math.random().toString(36).slice(2)}.log`)
  writeFileSync(path, bytes)
  return path
}

/** Blocks of `groups[k]` records each, in order, as `BlockWriter` seals them. */
const blocksOf = (records: readonly LogRecord[], groups: readonly number[], encoding: Encoding = avro(CLICK)) => {
  const w = new BlockWriter(encoding)
  const blocks: Buffer[] = []
  let i = 0
  for (const n of groups) {
    for (let k = 0; k < n; k++) w.add(records[i++])
    blocks.push(w.seal()!)
  }
  return blocks
}

describe('binary logs: corrupt and truncated blocks', () => {
  // 12 records in blocks of 3, 4, 2 and 3.
  const blocks = blocksOf(clicks.slice(0, 12), [3, 4, 2, 3])
  const header = logHeader(avro(CLICK))
  const startOf = (i: number) => header.length + blocks.slice(0, i).reduce((n, b) => n + b.length, 0)
  const offsets = (entries: LogEntry[]) => entries.map((e) => (isDeadLetter(e) ? 'dead' : (e as LogRecord).offset))
  it('a log is written in blocks: a header, then blocks of records under one checksum each', async () => {
    expect(Buffer.concat([header, ...blocks]).subarray(0, MAGIC.length)).toEqual(MAGIC)
    expect(plain(await read(file(Buffer.concat([header, ...blocks]))))).toEqual(clicks.slice(0, 12))
  })

  it('a flipped byte in a block is one dead letter giving the block\'s byte position and first record; the blocks after it are read', async () => {
    const bytes = Buffer.concat([header, ...blocks])
    bytes[startOf(1) + 20] ^= 0xff
    const entries = await read(file(bytes))
    expect(offsets(entries)).toEqual([1, 2, 3, 'dead', 8, 9, 10, 11, 12])
    expect(entries[3]).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', pos: 4 })
    expect((entries[3] as DeadLetter).message).toBe(
      `the block at byte ${startOf(1)} (from record 4) is corrupt: its checksum does not match; skipped ${blocks[1].length} bytes to the next good block, at byte ${startOf(2)}`,
    )
    // Records after a corrupt block are numbered on from its one dead letter.
    expect((await read(file(Buffer.concat([header, blocks[0], Buffer.from('junk'), blocks[2]])))).map((e) => (isDeadLetter(e) ? e.pos : 'ok'))).toEqual(['ok', 'ok', 'ok', 4, 'ok', 'ok'])
  })

  it('garbage between blocks, sync markers included, is one dead letter however it is cut into chunks', async () => {
    const garbage = Buffer.concat(Array.from({ length: 500 }, () => Buffer.from([0xa7, 0x42, 0x4c, 0x4b, 0x05, 1])))
    const bytes = Buffer.concat([header, blocks[0], garbage, blocks[1]])
    for (const size of [1, 3, 100, 1 << 20]) {
      const entries = await read(inPieces(bytes, size))
      expect(offsets(entries)).toEqual([1, 2, 3, 'dead', 4, 5, 6, 7])
      expect((entries[3] as DeadLetter).message).toMatch(/skipped 3000 bytes to the next good block/)
    }
  })

  it('a truncated last block is a dead letter saying so, after every whole block', async () => {
    const bytes = Buffer.concat([header, ...blocks])
    const entries = await read(file(bytes.subarray(0, bytes.length - 3)))
    expect(offsets(entries)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 'dead'])
    expect(entries[9]).toMatchObject({ reason: 'parse', pos: 10, message: `the block at byte ${startOf(3)} (from record 10) is truncated: the input ends ${blocks[3].length - 3} bytes into it` })
  })

  it('an event that does not decode under the header\'s encoding is a dead letter; its neighbours in the block are read', async () => {
    // An encoding that writes one event as bytes Avro cannot read, and the others as Avro.
    const a = avro(CLICK)
    const mixed: Encoding = { ...a, encode: (e) => ((e as Click).user === 'alien' ? Buffer.from([0x80, 0x80, 0x80]) : a.encode(e)) }
    const records = [clicks[0], { ...clicks[1], event: { user: 'alien', at: 0, page: null } }, clicks[2]]
    const entries = await read(file(Buffer.concat([header, ...blocksOf(records, [3], mixed), blocks[1]])))
    expect(offsets(entries)).toEqual([1, 'dead', 3, 4, 5, 6, 7])
    expect((entries[1] as DeadLetter).message).toMatch(new RegExp(`^record 2 \\(in the block at byte ${header.length}\\) does not decode as avro: `))
  })

  it('a log in a version of the format newer than this reader is one dead letter saying so, and nothing more is read', async () => {
    const v3 = Buffer.concat([header, ...blocks])
    v3[MAGIC.length - 1] = 3
    expect(await read(file(v3))).toEqual([
      expect.objectContaining({ reason: 'parse', pos: 0, message: 'not a readable weir binary log: it is in version 3 of the format, and this weir reads versions 1 and 2' }),
    ])
  })

  it('writeLog seals a block every 256 records: a corrupt spot costs at most one block\'s records', async () => {
    const many: LogRecord<Click>[] = Array.from({ length: 1000 }, (_, i) => ({ offset: i + 1, arrival: i, topic: 'c', event: { user: 'u', at: i, page: null } }))
    const path = await write(join(dir, 'many.avro'), many)
    const bytes = readFileSync(path)
    bytes[Math.floor(bytes.length / 2)] ^= 0x10
    const entries = await read(file(bytes))
    expect(entries.filter(isDeadLetter)).toHaveLength(1)
    expect(entries.filter((e) => !isDeadLetter(e))).toHaveLength(1000 - 256)
  })

  it('following a growing log, a half-written block waits for its rest; at the stop, an unfinished last block is a dead letter', async () => {
    const path = join(dir, 'growing.avro')
    const bytes = Buffer.concat([header, ...blocks])
    writeFileSync(path, bytes.subarray(0, startOf(1) + 5))
    const stop = new AbortController()
    const seen: (number | string)[] = []
    const reading = (async () => {
      for await (const b of readLog(path, { follow: { signal: stop.signal, pollMs: 5 } })) for (const e of b) seen.push(isDeadLetter(e) ? e.message : (e as LogRecord).offset)
    })()
    const until = async (n: number) => {
      for (let i = 0; i < 400 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 5))
    }
    await until(3)
    await new Promise((r) => setTimeout(r, 30))
    expect(seen).toEqual([1, 2, 3])
    appendFileSync(path, bytes.subarray(startOf(1) + 5, startOf(3) + 7))
    await until(9)
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    stop.abort()
    await reading
    expect(seen.at(-1)).toBe(`the block at byte ${startOf(3)} (from record 10) has 7 bytes the writer had not finished when following stopped`)
    expect(seen).toHaveLength(10)
  })

  it('replay counts a corrupt block as one dead letter and goes on', async () => {
    const bytes = Buffer.concat([header, ...blocks])
    bytes[startOf(2) + 9] ^= 0x01
    const { out, deadLetters, metrics } = await replay(pipeline({}, (s) => s), file(bytes))
    expect(out).toHaveLength(10)
    expect(deadLetters).toHaveLength(1)
    expect(metrics.eventsIn).toBe(11)
  })
})

describe('binary logs: MessagePack blocks', () => {
  const m = msgpack()
  const shapes = Array.from({ length: 40 }, (_, i) => ({ [`k${i}`]: i, n: { x: i, y: [i, { z: 'z' }] } }))
  const events: unknown[] = [...shapes, JSON.parse('{"__proto__":{"polluted":1},"a":1}'), { '1': 'one', '0': 'zero', b: null }, [], 'text', 1.5, { a: { b: { c: {} } } }]
  const records = events.map((event, i): LogRecord => ({ offset: i + 1, arrival: i, topic: 't', event }))
  /** What MessagePack gives back for each event outside a log (a Redis entry's). */
  const asEntries = events.map((e) => m.decode(m.encode(e)))

  it('read back as the events written, of any shape (more than msgpackr\'s 32 shared ones)', async () => {
    const entries = (await read(inPieces(Buffer.concat([logHeader(m), ...blocksOf(records, [10, records.length - 10], m)]), 50))) as LogRecord[]
    expect(entries.map((e) => e.event)).toEqual(asEntries)
    expect(asEntries.filter((_, i) => i !== 40)).toEqual(events.filter((_, i) => i !== 40))
  })

  it('a key "__proto__" reads back as "__proto_" (msgpackr\'s guard against prototype pollution), in blocks as in entries', async () => {
    const entries = (await read(file(Buffer.concat([logHeader(m), ...blocksOf(records.slice(40, 41), [1], m)])))) as LogRecord[]
    expect(entries[0].event).toEqual({ __proto_: { polluted: 1 }, a: 1 })
    expect(m.decode(m.encode(events[40]))).toEqual({ __proto_: { polluted: 1 }, a: 1 })
    expect(Object.getPrototypeOf(entries[0].event)).toBe(Object.prototype)
  })

  it('each block carries the record shapes its events use: a block reads without the ones before it', async () => {
    const blocks = blocksOf(records, [5, 5, records.length - 10], m)
    const entries = (await read(file(Buffer.concat([logHeader(m), blocks[2]])))) as LogRecord[]
    expect(entries.map((e) => e.event)).toEqual(asEntries.slice(10))
  })

  it('writes objects as records: smaller than the same events as maps', async () => {
    const trips = Array.from({ length: 500 }, (_, i): LogRecord => ({ offset: i + 1, arrival: i, topic: 't', event: { id: i, zone: `z${i % 7}`, fare: i + 0.5 } }))
    const codec = blockCodec(m)
    const asRecords = trips.reduce((n, r) => n + codec.encode(r.event).length, 0)
    const asMaps = trips.reduce((n, r) => n + m.encode(r.event).length, 0)
    expect(asRecords).toBeLessThan(asMaps * 0.7)
  })
})

describe('version-1 binary logs (a CRC per record) are still read: corrupt and truncated frames', () => {
  const frames = clicks.slice(0, 5).map((r) => encodeV1Frame(r, avro(CLICK)))
  const header = logHeader(avro(CLICK), MAGIC_V1)
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
    const alien = encodeV1Frame({ offset: 9, arrival: 1, topic: 't', event: { something: ['else'] } }, msgpack())
    const entries = await read(file(Buffer.concat([header, frames[0], alien, frames[1]])))
    expect(entries.map((e) => (isDeadLetter(e) ? 'dead' : (e as LogRecord).offset))).toEqual([1, 'dead', 2])
    expect((entries[1] as DeadLetter).message).toMatch(/^record 2 \(at byte \d+\) does not decode as avro: /)
  })

  it('a header naming an unknown encoding is one dead letter, and nothing more is read', async () => {
    const xml = Buffer.from('{"encoding":"xml"}')
    const bad = Buffer.concat([MAGIC_V1, Buffer.from([xml.length]), xml, frames[0]])
    expect(await read(file(bad))).toEqual([expect.objectContaining({ reason: 'parse', pos: 0, message: "not a readable weir binary log: unknown encoding 'xml' (encodings: json, avro, msgpack)" })])
    const short = await read(file(Buffer.concat([MAGIC_V1, Buffer.from([40]), Buffer.from('{"enc')])))
    expect(short).toEqual([expect.objectContaining({ reason: 'parse', pos: 0, message: 'not a weir binary log: the input ends inside its header (14 bytes)' })])
  })

  it('a chunk of thousands of frames comes in batches of at most 1024 entries; a corrupt region filling a batch is one dead letter, and reading goes on in the next', async () => {
    const many: LogRecord<Click>[] = Array.from({ length: 3000 }, (_, i) => ({ offset: i + 1, arrival: i, topic: 'c', event: { user: 'u', at: i, page: null } }))
    const framed = many.map((r) => encodeV1Frame(r, avro(CLICK)))
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
