import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { remove, upsert, type Change } from '../../dsl/change.ts'
import type { Data } from '../../dsl/element.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy, map } from '../../dsl/stages.ts'
import { tableJoin } from '../../dsl/joins.ts'
import { temporalJoin } from '../../dsl/temporalJoin.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { makeContext } from '../core/context.ts'
import { temporalJoinMachine } from './temporalJoin.ts'
import { runPipeline } from '../testing/runPipeline.ts'

type Rec = { kind: 'price'; sku: string; amount: number | null; t: number; offset?: number } | { kind: 'order'; sku: string; qty: number; t: number }

const priceChange = (r: Extract<Rec, { kind: 'price' }>): Change<string, number> =>
  r.amount !== null ? upsert(r.sku, r.amount, undefined, r.offset) : remove<string, number>(r.sku, undefined, r.offset)

const enrich = (type: 'inner' | 'left', join: 'temporal' | 'arrival' = 'temporal') =>
  pipeline({ eventTime: (r: Rec) => r.t, watermark: boundedOutOfOrder(10) }, (s) => {
    const prices = pipe(s, filter((r): r is Extract<Rec, { kind: 'price' }> => r.kind === 'price'), map(priceChange))
    const orders = pipe(s, filter((r): r is Extract<Rec, { kind: 'order' }> => r.kind === 'order'), keyBy((o) => o.sku))
    return pipe(orders, join === 'temporal' ? temporalJoin(prices, { type }) : tableJoin(prices, { type }), map((j) => [j.left.qty, j.right ?? null] as const))
  })

/** In arrival order: the order at 15 arrives after the price change at 20. */
const input: Rec[] = [
  { kind: 'price', sku: 'x', amount: 10, t: 0 },
  { kind: 'price', sku: 'x', amount: 12, t: 20 },
  { kind: 'order', sku: 'x', qty: 1, t: 15 },
  { kind: 'order', sku: 'x', qty: 2, t: 25 },
  { kind: 'order', sku: 'y', qty: 9, t: 26 },
  { kind: 'price', sku: 'x', amount: null, t: 30 },
  { kind: 'order', sku: 'x', qty: 3, t: 35 },
]

describe('temporalJoin', () => {
  it('joins each event with the version valid at its event time, where tableJoin takes the one current at its arrival', async () => {
    expect((await runPipeline(enrich('left'), input)).values).toEqual([
      [1, 10],
      [2, 12],
      [9, null],
      [3, null],
    ])
    expect((await runPipeline(enrich('left', 'arrival'), input)).values).toEqual([
      [1, 12],
      [2, 12],
      [9, null],
      [3, null],
    ])
  })

  it('inner drops events whose row was absent at their time (never there, or deleted)', async () => {
    expect((await runPipeline(enrich('inner'), input)).values).toEqual([
      [1, 10],
      [2, 12],
    ])
  })

  it('holds each event until the watermark passes its time, then emits in event-time order before that watermark', async () => {
    const { elements } = await runPipeline(enrich('left'), [
      { kind: 'price', sku: 'x', amount: 1, t: 0 },
      { kind: 'order', sku: 'x', qty: 2, t: 12 },
      { kind: 'order', sku: 'x', qty: 1, t: 11 },
      { kind: 'price', sku: 'x', amount: 5, t: 12 },
      { kind: 'order', sku: 'x', qty: 3, t: 40 },
    ])
    const seen = elements.map((e) => (e._tag === 'Watermark' ? `W${e.time}` : `${e.value[0]}:${e.value[1]}`))
    // The price at 12 arrives after the order at 12 and still applies to it: it waited for W > 12.
    expect(seen.filter((s) => !s.startsWith('W')).join(' ')).toBe('1:1 2:5 3:5')
    expect(seen.indexOf('1:1')).toBeGreaterThan(seen.indexOf('W2'))
    expect(seen.indexOf('2:5')).toBeLessThan(seen.indexOf('W30'))
  })

  it('sends an event or a change older than the watermark to late; a late change is not applied', async () => {
    const r = await runPipeline(enrich('left'), [
      { kind: 'price', sku: 'x', amount: 1, t: 0 },
      { kind: 'order', sku: 'x', qty: 1, t: 50 },
      { kind: 'order', sku: 'x', qty: 2, t: 30 },
      { kind: 'price', sku: 'x', amount: 7, t: 35 },
      { kind: 'order', sku: 'x', qty: 3, t: 45 },
    ])
    expect(r.values).toEqual([
      [3, 1],
      [1, 1],
    ])
    expect(r.late.map((l) => [l.pos, l.time, l.watermark, l.stage])).toEqual([
      [2, 30, 40, 'temporalJoin'],
      [3, 35, 40, 'temporalJoin'],
    ])
  })

  it('ignores a change whose offset is not above the last applied one (redelivery), and sends a non-change to dead letters', async () => {
    const r = await runPipeline(enrich('left'), [
      { kind: 'price', sku: 'x', amount: 1, t: 0, offset: 5 },
      { kind: 'price', sku: 'x', amount: 2, t: 1, offset: 5 },
      { kind: 'order', sku: 'x', qty: 1, t: 2 },
    ])
    expect(r.values).toEqual([[1, 1]])
    const bad = pipeline({ eventTime: (r: Rec) => r.t }, (s) =>
      pipe(s, keyBy((r) => r.sku), temporalJoin(pipe(s, map((r) => ({ op: 'upsert?', key: r.sku }) as unknown as Change<string, number>)))),
    )
    expect((await runPipeline(bad, [{ kind: 'order', sku: 'x', qty: 1, t: 0 }])).dead.map((d) => [d.reason, d.stage])).toEqual([['user', 'temporalJoin']])
  })

  it('rejects a type other than inner or left at definition', () => {
    expect(() => temporalJoin(undefined as never, { type: 'outer' as 'left' })).toThrow("temporalJoin: type must be 'inner' or 'left', got \"outer\"")
  })
})

describe('temporalJoin state', () => {
  const data = <T>(value: T, time: number, key: string, pos = 0): Data<T, unknown> => ({ _tag: 'Data', value, time, key, pos })
  const machine = (out: unknown[] = []) => temporalJoinMachine({ type: 'left' }, makeContext({}), (d) => out.push(d.value))

  it('keeps versions only until the watermark passes the one after them: 30,000 changes of 3 keys leave a handful', () => {
    const m = machine()
    let most = 0
    for (let t = 0; t < 30_000; t++) {
      const key = `k${t % 3}`
      m.right(data(upsert(key, t), t, key))
      if (t % 2 === 0) m.left(data({ at: t }, t, key))
      m.watermark(t - 20)
      const held = (m.snapshot!() as { versions: [string, unknown[]][] }).versions.reduce((n, [, h]) => n + h.length, 0)
      most = Math.max(most, held)
    }
    // The versions newer than the watermark (20 ms of them) and each key's current one.
    expect(most).toBeLessThanOrEqual(21 + 3)
  })

  it('forgets a deleted row once the watermark passes its delete', () => {
    const m = machine()
    m.right(data(upsert('a', 1), 0, 'a'))
    m.right(data(remove('a'), 5, 'a'))
    m.watermark(4)
    expect((m.snapshot!() as { versions: unknown[] }).versions).toHaveLength(1)
    m.watermark(5)
    expect((m.snapshot!() as { versions: unknown[] }).versions).toEqual([])
  })

  it('a machine restored from a snapshot ends as the uninterrupted one does', () => {
    const feed = (m: ReturnType<typeof machine>, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        if (t % 3 === 0) m.right(data(upsert('a', t), t, 'a'))
        m.left(data(t, t + (t % 2), 'a', t))
        m.watermark(t - 4)
      }
    }
    const whole: unknown[] = []
    const a = machine(whole)
    feed(a, 0, 40)
    a.watermark(Number.POSITIVE_INFINITY)
    const resumed: unknown[] = []
    const b = machine(resumed)
    feed(b, 0, 17)
    const c = machine(resumed)
    c.restore!(JSON.parse(JSON.stringify(b.snapshot!())))
    feed(c, 17, 40)
    c.watermark(Number.POSITIVE_INFINITY)
    expect(resumed).toEqual(whole)
    expect(whole).toHaveLength(40)
  })
})
