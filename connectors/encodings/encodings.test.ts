import { describe, expect, it } from 'vitest'
import { avro } from './avro.ts'
import { msgpack } from './msgpack.ts'
import { json } from './encoding.ts'
import { encodingNamed } from './named.ts'

describe('encodings', () => {
  it('decode reads the event in a range of a larger buffer, and refuses bytes left over or missing', () => {
    const e = avro({ type: 'record', name: 'P', fields: [{ name: 'x', type: 'int' }] })
    const one = Buffer.from(e.encode({ x: 7 }))
    const buf = Buffer.concat([Buffer.from([9, 9]), one, one])
    expect({ ...(e.decode(buf, 2, 2 + one.length) as object) }).toEqual({ x: 7 })
    expect(() => e.decode(buf, 2, 2 + 2 * one.length)).toThrow(`${one.length} bytes are left over after the value`)
    expect(() => e.decode(Buffer.from([0x80]))).toThrow('the value runs past its 1 bytes')
    expect(json().decode(Buffer.from('xx{"a":1}yy'), 2, 9)).toEqual({ a: 1 })
  })

  it('msgpack: a binary value decoded from a buffer that is then reused keeps its bytes', () => {
    const e = msgpack()
    const one = Buffer.from(e.encode({ blob: Buffer.from([1, 2, 3]) }))
    const chunk = Buffer.concat([Buffer.alloc(5), one])
    const v = e.decode(chunk, 5, chunk.length) as { blob: Buffer }
    chunk.fill(0)
    e.decode(Buffer.concat([Buffer.alloc(5), Buffer.from(e.encode({ blob: Buffer.from([7, 7, 7]) }))]), 5)
    expect([...v.blob]).toEqual([1, 2, 3])
  })

  it('msgpack: an event inside a larger buffer decodes the same whatever its size (copied in a loop, by Buffer#copy, or not at all)', () => {
    const e = msgpack()
    for (const size of [0, 1, 200, 250, 260, 1000, 70_000]) {
      const event = { s: 'x'.repeat(size), n: size }
      const one = Buffer.from(e.encode(event))
      const buf = Buffer.concat([Buffer.from([0xc1, 0xc1, 0xc1]), one, Buffer.from([0xc1])])
      expect(e.decode(buf, 3, 3 + one.length)).toEqual(event)
    }
  })

  it('refuses at construction what cannot work: a schema that is not Avro, an unknown encoding, an event JSON cannot hold', () => {
    expect(() => avro({ type: 'recrod' })).toThrow(/^avro: not a valid Avro schema: /)
    expect(() => avro('{oops')).toThrow(/^avro: the schema is not JSON: /)
    expect(() => encodingNamed('xml')).toThrow("unknown encoding 'xml' (encodings: json, avro, msgpack)")
    expect(() => encodingNamed('avro')).toThrow('the avro encoding needs its schema')
    expect(() => json().encode(undefined)).toThrow('json: undefined cannot be written as JSON')
  })
})
