import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { json, type Encoding } from '../connectors/encodings/encoding.ts'
import { BlockWriter, logHeader } from '../harness/framedLog.ts'
import { encodeV1Frame, MAGIC_V1 } from '../harness/framedLogV1.ts'
import { isDeadLetter, readLog, type LogEntry, type LogRecord } from '../harness/log.ts'

const SEED = 1616
const params = { seed: SEED, numRuns: 150 }

/** JSON text cannot tell -0 from 0, nor hold undefined: the values every encoding must round-trip. */
const jsonValues = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)

const ORDER = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer', type: 'string' },
    { name: 'amount', type: 'double' },
    { name: 'paid', type: 'boolean' },
    { name: 'coupon', type: ['null', 'string'] },
    { name: 'items', type: { type: 'array', items: 'int' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'SHIPPED', 'RETURNED'] } },
  ],
}
const orders = fc.record({
  // avsc's longs are exact within ±2^52 (below -2^52 it writes another number: docs/encodings.md).
  id: fc.oneof(fc.maxSafeInteger().map((v) => v % 2 ** 52), fc.constantFrom(2 ** 52, -(2 ** 52))),
  customer: fc.string({ unit: 'grapheme' }),
  amount: fc.double({ noNaN: true }),
  paid: fc.boolean(),
  coupon: fc.option(fc.string(), { nil: null }),
  items: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  status: fc.constantFrom('NEW', 'SHIPPED', 'RETURNED'),
})

const roundTrips = (e: Encoding, v: unknown) => expect({ ...(e.decode(e.encode(v)) as object) }).toEqual({ ...(v as object) })

describe('encodings round-trip every value they can hold', () => {
  it('json: any JSON value', () => {
    const e = json()
    fc.assert(fc.property(jsonValues, (v) => {
        expect(e.decode(e.encode(v))).toEqual(v)
      }), params)
  })

  it('msgpack: any JSON value', () => {
    const e = msgpack()
    fc.assert(fc.property(jsonValues, (v) => {
        expect(e.decode(e.encode(v))).toEqual(v)
      }), params)
  })

  it('avro: any value of the schema (longs within ±2^52, doubles with -0 and infinities, unions, arrays, enums)', () => {
    const e = avro(ORDER)
    fc.assert(fc.property(orders, (v) => {
        roundTrips(e, v)
      }), params)
  })
})

/** A binary log's records, read back from its bytes cut into chunks at the given sizes. */
const readBack = async (bytes: Buffer, sizes: readonly number[]): Promise<LogEntry[]> => {
  const chunks: Buffer[] = []
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]
    chunks.push(bytes.subarray(at, at + n))
    at += n
  }
  const out: LogEntry[] = []
  for await (const b of readLog(Readable.from(chunks))) out.push(...b)
  return out
}

const records = (events: fc.Arbitrary<unknown>) =>
  fc.array(
    fc.record({ arrival: fc.double({ noNaN: true, noDefaultInfinity: true }), topic: fc.string({ unit: 'grapheme', maxLength: 8 }), event: events }),
    { minLength: 1, maxLength: 20 },
  ).map((rs) => rs.map((r, i): LogRecord => ({ offset: i * 7 + 1, ...r })))

/** The records written as blocks, sealed after `cuts[k]` records each (cycling), with the blocks' records' indices. */
const inBlocks = (e: Encoding, rs: readonly LogRecord[], cuts: readonly number[]) => {
  const w = new BlockWriter(e)
  const blocks: Buffer[] = []
  const members: number[][] = []
  let open: number[] = []
  for (let i = 0; i < rs.length; i++) {
    w.add(rs[i])
    open.push(i)
    if (open.length >= cuts[blocks.length % cuts.length] || i === rs.length - 1) {
      blocks.push(w.seal()!)
      members.push(open)
      open = []
    }
  }
  return { blocks, members }
}

const cutsArb = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 })

describe('binary logs', () => {
  it('read back as the records written, however they are cut into blocks and the bytes into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(records(jsonValues), cutsArb, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), async (rs, cuts, sizes) => {
        const e = msgpack()
        const got = await readBack(Buffer.concat([logHeader(e), ...inBlocks(e, rs, cuts).blocks]), sizes)
        // MessagePack gives a key "__proto__" back as "__proto_" (docs/encodings.md), in a log as in an entry.
        expect(got).toEqual(rs.map((r) => ({ ...r, event: e.decode(e.encode(r.event)) })))
      }),
      params,
    )
  })

  it('lose only the records of the blocks a corruption touches, one dead letter each region, and never throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        records(orders),
        cutsArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 64 }),
        async (rs, cuts, flips, chunk) => {
          const e = avro(ORDER)
          const header = logHeader(e)
          const { blocks, members } = inBlocks(e, rs, cuts)
          const bytes = Buffer.concat([header, ...blocks])
          const touched = new Set<number>()
          for (const [at, mask] of flips) {
            const p = header.length + (at % (bytes.length - header.length))
            bytes[p] ^= mask
            for (let b = 0, start = header.length; b < blocks.length; start += blocks[b++].length) if (p >= start && p < start + blocks[b].length) touched.add(b)
          }
          const got = await readBack(bytes, [chunk])
          const kept = got.filter((x) => !isDeadLetter(x)).map((x) => ({ ...x, event: { ...((x as LogRecord).event as object) } }))
          expect(kept).toEqual(members.flatMap((m, b) => (touched.has(b) ? [] : m.map((i) => rs[i]))))
          const dead = got.filter(isDeadLetter)
          expect(dead.length).toBeGreaterThanOrEqual(1)
          expect(dead.length).toBeLessThanOrEqual(touched.size)
        },
      ),
      params,
    )
  })
})

describe('version-1 binary logs (a CRC per record)', () => {
  it('read back as the records written, however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(records(jsonValues), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), async (rs, sizes) => {
        const e = msgpack()
        const got = await readBack(Buffer.concat([logHeader(e, MAGIC_V1), ...rs.map((r) => encodeV1Frame(r, e))]), sizes)
        expect(got).toEqual(rs)
      }),
      params,
    )
  })

  it('lose only the records of the frames a corruption touches, one dead letter each region, and never throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        records(orders),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 64 }),
        async (rs, flips, chunk) => {
          const e = avro(ORDER)
          const header = logHeader(e, MAGIC_V1)
          const frames = rs.map((r) => encodeV1Frame(r, e))
          const bytes = Buffer.concat([header, ...frames])
          const touched = new Set<number>()
          for (const [at, mask] of flips) {
            const p = header.length + (at % (bytes.length - header.length))
            bytes[p] ^= mask
            for (let i = 0, start = header.length; i < frames.length; start += frames[i++].length) if (p >= start && p < start + frames[i].length) touched.add(i)
          }
          const got = await readBack(bytes, [chunk])
          const kept = got.filter((x) => !isDeadLetter(x)).map((x) => ({ ...x, event: { ...((x as LogRecord).event as object) } }))
          expect(kept).toEqual(rs.filter((_, i) => !touched.has(i)))
          const dead = got.filter(isDeadLetter)
          expect(dead.length).toBeGreaterThanOrEqual(1)
          expect(dead.length).toBeLessThanOrEqual(touched.size)
        },
      ),
      params,
    )
  })
})
