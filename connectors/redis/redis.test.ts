import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy, map } from '../../dsl/stages.ts'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count } from '../../dsl/aggregations.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import type { Stream } from '../../dsl/stream.ts'
import { asyncSink } from '../sinks.ts'
import { redisCheckpoints, type Checkpoint } from '../../harness/checkpoint.ts'
import type { PulledSource } from '../sources.ts'
import { partitionOf } from '../partition.ts'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { redisSource, type RedisSourceOptions } from './source.ts'
import { redisSink, redisUpsertSink } from './sink.ts'
import { createTopic, streamKey } from './topic.ts'

interface Ev {
  readonly id: number
  readonly k: string
  readonly t: number
}
const events = (n: number, keys = 8): Ev[] => Array.from({ length: n }, (_, id) => ({ id, k: `k${id % keys}`, t: id * 10 }))
const ids = pipeline({}, (s: Stream<Ev>) => pipe(s, map((e) => e.id)))

describe('redisSource options', () => {
  it.each([0, -1, 2.5, Number.NaN])('refuses maxDeliveries %s', (n) => {
    expect(() => redisSource({} as Redis, { topics: ['t'], group: 'g', consumer: 'c', maxDeliveries: n })).toThrow(
      /redisSource: maxDeliveries must be a positive integer/,
    )
  })
})

describe.skipIf(missing('REDIS_URL'))('Redis Streams connectors (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  const produce = async (topic: string, partitions: number, evs: readonly Ev[]) => {
    await createTopic(redis, topic, partitions)
    await run(pipeline({}, (s: Stream<Ev>) => s), evs, { sink: redisSink(redis, { topic, partitions, key: (e) => e.k, batch: 64 }) })
  }
  const consume = (topic: string, o: Partial<RedisSourceOptions> & { group: string; consumer: string }) =>
    redisSource<Ev>(redis, { topics: [topic], stopWhenIdleMs: 300, blockMs: 50, heartbeatMs: 50, ...o })
  const collect = async (src: PulledSource<Ev>) => (await run(ids, src)).out

  it('routes each event to the partition stream its key hashes to', async () => {
    const topic = unique('route')
    await produce(topic, 4, events(100))
    let total = 0
    for (let p = 0; p < 4; p++) {
      const entries = await redis.xrange(streamKey(topic, p), '-', '+')
      total += entries.length
      for (const [, fields] of entries) expect(partitionOf((JSON.parse(fields[1]) as Ev).k, 4)).toBe(p)
    }
    expect(total).toBe(100)
  })

  it('load-balances one group: members own disjoint partitions and together see every event once', async () => {
    const topic = unique('lb')
    await produce(topic, 4, events(400))
    const group = unique('g')
    const [a, b] = await Promise.all([
      run(ids, consume(topic, { group, consumer: 'a', minMembers: 2 })),
      run(ids, consume(topic, { group, consumer: 'b', minMembers: 2 })),
    ])
    expect(a.out.length).toBeGreaterThan(0)
    expect(b.out.length).toBeGreaterThan(0)
    expect([...a.out, ...b.out].sort((x, y) => x - y)).toEqual(events(400).map((e) => e.id))
    const keysOf = (out: number[]) => new Set(out.map((id) => `k${id % 8}`))
    for (const k of keysOf(a.out)) expect(keysOf(b.out).has(k)).toBe(false)
  })

  it('fans out: each group gets every event, and members of each group share them', async () => {
    const topic = unique('fan')
    await produce(topic, 4, events(200))
    const g1 = unique('g1')
    const g2 = unique('g2')
    const outs = await Promise.all([
      collect(consume(topic, { group: g1, consumer: 'a', minMembers: 2 })),
      collect(consume(topic, { group: g1, consumer: 'b', minMembers: 2 })),
      collect(consume(topic, { group: g2, consumer: 'a', minMembers: 2 })),
      collect(consume(topic, { group: g2, consumer: 'b', minMembers: 2 })),
    ])
    const all = events(200).map((e) => e.id)
    expect([...outs[0], ...outs[1]].sort((x, y) => x - y)).toEqual(all)
    expect([...outs[2], ...outs[3]].sort((x, y) => x - y)).toEqual(all)
    for (const o of outs) expect(o.length).toBeGreaterThan(0)
  })

  it('shares messages within a group in shared assignment', async () => {
    const topic = unique('shared')
    await produce(topic, 1, events(300))
    const group = unique('g')
    const [a, b] = await Promise.all([
      collect(consume(topic, { group, consumer: 'a', assignment: 'shared', minMembers: 2 })),
      collect(consume(topic, { group, consumer: 'b', assignment: 'shared', minMembers: 2 })),
    ])
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(events(300).map((e) => e.id))
  })

  it('acknowledges an event only after the sink has written what was derived from it', async () => {
    const topic = unique('ack')
    await produce(topic, 1, events(20))
    const group = unique('g')
    const stream = streamKey(topic, 0)
    const pendingAtWrite: number[] = []
    await run(ids, consume(topic, { group, consumer: 'a' }), {
      highWaterMark: 4,
      sink: asyncSink(async () => {
        // While this write is pending, its event must still be pending in the group.
        pendingAtWrite.push(Number((await redis.xpending(stream, group))[0]))
      }),
    })
    expect(pendingAtWrite.length).toBe(20)
    for (const n of pendingAtWrite) expect(n).toBeGreaterThan(0)
    expect(Number((await redis.xpending(stream, group))[0])).toBe(0)
  })

  it('holds a stateful pipeline\'s events pending until the run has finished with them (no checkpoints)', async () => {
    const topic = unique('stateful')
    await produce(topic, 2, events(50))
    const group = unique('g')
    const pending = async () =>
      Number((await redis.xpending(streamKey(topic, 0), group))[0]) + Number((await redis.xpending(streamKey(topic, 1), group))[0])
    const perWindow = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(10_000) }, (s: Stream<Ev>) => pipe(s, keyBy((e) => e.k), window(tumbling(100)), aggregate(count)))
    const pendingAtWrite: number[] = []
    const r = await run(perWindow, consume(topic, { group, consumer: 'a' }), {
      sink: asyncSink(async () => {
        pendingAtWrite.push(await pending())
      }),
    })
    expect(r.late).toEqual([])
    expect(r.metrics.eventsOut).toBe(new Set(events(50).map((e) => `${e.k}/${Math.floor(e.t / 100)}`)).size)
    // A window's events cannot be acknowledged before its result is written, and without
    // checkpoints the state covering them is only safe once the run ends.
    for (const n of pendingAtWrite) expect(n).toBe(50)
    expect(await pending()).toBe(0)
  })

  it('redelivers a dead consumer\'s pending events to a survivor: nothing is lost', async () => {
    const topic = unique('dead')
    await produce(topic, 2, events(60))
    const group = unique('g')
    const fast = { heartbeatMs: 30, sessionTimeoutMs: 200, claimIdleMs: 100 }
    // A member reads a batch and dies before acknowledging it (no close, no more heartbeats).
    const doomed = consume(topic, { group, consumer: 'doomed', ...fast })
    const taken = await doomed.pull(25)
    expect(taken!.length).toBeGreaterThan(0)
    const survivor = await run(ids, consume(topic, { group, consumer: 'survivor', ...fast, stopWhenIdleMs: 500 }))
    expect([...survivor.out].sort((x, y) => x - y)).toEqual(events(60).map((e) => e.id))
    for (let p = 0; p < 2; p++) expect(Number((await redis.xpending(streamKey(topic, p), group))[0])).toBe(0)
    await doomed.close()
  })

  it('a poison entry (its reader dies on it every time) is dead-lettered after maxDeliveries; entries read with it are not', async () => {
    const topic = unique('poison')
    await produce(topic, 1, events(40))
    const poison = 15
    const group = unique('g')
    /** One member's life: read and handle entries until the poison one kills it (no ack, no more reads). */
    const life = async () => {
      const src = consume(topic, { group, consumer: 'w' })
      const handled: number[] = []
      const rejected: string[] = []
      const tokens: unknown[] = []
      try {
        for (let batch = await src.pull(1000); batch !== undefined; batch = await src.pull(1000))
          for (const r of batch) {
            if (r.rejected !== undefined) rejected.push(`${r.rejected.reason}: ${r.rejected.message}`)
            else if (r.value.id === poison) return { died: true, handled, rejected }
            else handled.push(r.value.id)
            tokens.push(r.token)
          }
        await src.ack(tokens)
        return { died: false, handled, rejected }
      } finally {
        await src.close()
      }
    }
    const lives = []
    for (let i = 0; i < 10; i++) {
      const l = await life()
      lives.push(l)
      if (!l.died) break
    }
    // Delivered 5 times (each death), the sixth delivery is refused: it goes to the dead-letter stream.
    expect(lives.map((l) => l.died)).toEqual([true, true, true, true, true, false])
    const last = lives[5]
    expect(last.rejected).toHaveLength(1)
    expect(last.rejected[0]).toMatch(new RegExp(`^redelivered: entry \\S+ of ${topic}:0 was delivered 6 times \\(maxDeliveries 5\\): a poison entry, moved to ${topic}:dead-letters$`))
    expect(new Set(lives.flatMap((l) => l.handled))).toEqual(new Set(events(40).map((e) => e.id).filter((id) => id !== poison)))
    expect(last.handled.sort((a, b) => a - b)).toEqual(events(40).map((e) => e.id).filter((id) => id !== poison))
    const dead = await redis.xrange(`${topic}:dead-letters`, '-', '+')
    expect(dead.map(([, f]) => JSON.parse(f[1]).id)).toEqual([poison])
    expect(Number((await redis.xpending(streamKey(topic, 0), group))[0])).toBe(0)
  })

  it('subscribes to every topic whose name matches a glob', async () => {
    const ns = unique('pat')
    await produce(`${ns}.orders.eu`, 2, events(10))
    await produce(`${ns}.orders.us`, 2, events(5))
    await produce(`${ns}.payments.eu`, 2, events(7))
    const out = await collect(redisSource<Ev>(redis, { pattern: `${ns}.orders.*`, group: unique('g'), consumer: 'a', stopWhenIdleMs: 300, blockMs: 50 }))
    expect(out.length).toBe(15)
  })

  it('reads only as fast as the pipeline drains (credit-bounded XREADGROUP)', async () => {
    const topic = unique('bp')
    await produce(topic, 1, events(200))
    const src = consume(topic, { group: unique('g'), consumer: 'a' })
    let pulled = 0
    let written = 0
    let maxAhead = 0
    const counting: PulledSource<Ev> = {
      ...src,
      async pull(max) {
        const r = await src.pull(max)
        pulled += r?.length ?? 0
        maxAhead = Math.max(maxAhead, pulled - written)
        return r
      },
    }
    await run(ids, counting, {
      highWaterMark: 8,
      sink: asyncSink(async () => {
        await new Promise((res) => setTimeout(res, 1))
        written++
      }),
    })
    expect(written).toBe(200)
    expect(maxAhead).toBeLessThanOrEqual(8 + 1)
  })

  it('with checkpoints, a stateful pipeline acknowledges what each saved checkpoint covers, and a checkpoint in Redis resumes the group', async () => {
    const topic = unique('cp')
    await produce(topic, 2, events(120))
    const group = unique('g')
    const store = redisCheckpoints(redis, unique('weir:cp'))
    const pending = async () =>
      Number((await redis.xpending(streamKey(topic, 0), group))[0]) + Number((await redis.xpending(streamKey(topic, 1), group))[0])
    const perWindow = pipeline({ name: 'perWindow', eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(10_000) }, (s: Stream<Ev>) =>
      pipe(s, keyBy((e) => e.k), window(tumbling(100), { emit: 'updates' }), aggregate(count)),
    )
    const savedAt: number[] = []
    const counting = { load: () => store.load(), save: async (c: Checkpoint) => {
      await store.save(c)
      savedAt.push(c.offset)
    } }
    const pendingAfterSave: number[] = []
    const first = await run(perWindow, consume(topic, { group, consumer: 'a' }), {
      highWaterMark: 16,
      checkpoint: { store: counting, everyEvents: 30 },
      sink: asyncSink(async () => {
        if (savedAt.length > pendingAfterSave.length) pendingAfterSave.push(await pending())
      }),
    })
    expect(first.metrics.eventsIn).toBe(120)
    expect(savedAt.length).toBeGreaterThan(1)
    // After a checkpoint, at most the records read since it are pending.
    for (const n of pendingAfterSave) expect(n).toBeLessThan(120)
    expect(await pending()).toBe(0)
    expect((await store.load())!.offset).toBe(120)

    // Ten more events: a new worker restores the windows from Redis and continues them.
    const more = Array.from({ length: 10 }, (_, i) => ({ id: 120 + i, k: 'k0', t: 1195 + i }))
    await run(pipeline({}, (s: Stream<Ev>) => s), more, { sink: redisSink(redis, { topic, partitions: 2, key: (e) => e.k }) })
    const second = await run(perWindow, consume(topic, { group, consumer: 'b' }), { checkpoint: { store, everyEvents: 30 } })
    expect(second.metrics.eventsIn).toBe(10)
    const last = new Map((second.out as { key: string; after: { value: number } }[]).map((c) => [c.key, c.after.value]))
    // k0's window [1100, 1200) had events 112 and 120 (t=1120, 1200 is outside): now also t=1195..1199.
    const inWindow = [...events(120), ...more].filter((e) => e.k === 'k0' && e.t >= 1100 && e.t < 1200).length
    expect(last.get(JSON.stringify(['k0', 1100, 1200]))).toBe(inWindow)
  })

  it('an upsert sink is idempotent: writing outputs twice leaves the same hash', async () => {
    const hash = unique('view')
    const sink = () => redisUpsertSink(redis, { hash, key: (e: Ev) => e.id, value: (e) => e.k })
    const p = pipeline({}, (s: Stream<Ev>) => s)
    await run(p, events(30), { sink: sink() })
    const once = await redis.hgetall(hash)
    await run(p, events(30), { sink: sink() })
    expect(await redis.hgetall(hash)).toEqual(once)
    expect(Object.keys(once).length).toBe(30)
  })
})
