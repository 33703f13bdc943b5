import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { json, type Encoding } from '../connectors/encodings/encoding.ts'
import { encodeFrame, logHeader } from '../harness/framedLog.ts'
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

describe('binary logs', () => {
  it('read back as the records written, however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(records(jsonValues), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), async (rs, sizes) => {
        const e = msgpack()
        const got = await readBack(Buffer.concat([logHeader(e), ...rs.map((r) => encodeFrame(r, e))]), sizes)
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
          const header = logHeader(e)
          const frames = rs.map((r) => encodeFrame(r, e))
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
