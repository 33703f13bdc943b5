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
import { createTopic, streamKey, TOPICS_KEY } from './topic.ts'

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

describe('edge cases', () => {
  // A sink that cannot write, a sink with another partition count, co-partitioned topics, a
  // survivor claiming a dead member's entries (once each, and all before newer ones), a failed
  // acknowledgement, and entries trimmed before a lagging group read them.
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  /** Polls `ready` every 50 ms until it holds; fails naming `what` after `deadlineMs` (a generous bound, not a margin the test relies on). */
  async function until(what: string, ready: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
    const deadline = Date.now() + deadlineMs
    while (!(await ready())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting until ${what}`)
      await sleep(50)
    }
  }

  describe.skipIf(missing('REDIS_URL'))('Redis Streams connectors (real server)', () => {
    let redis: Redis
    const keys: string[] = []
    const topics: string[] = []
    beforeAll(() => {
      redis = new Redis(REDIS_URL!)
    })
    afterAll(async () => {
      for (const k of keys) await redis.del(k)
      for (const topic of topics) {
        const n = Number(await redis.hget(TOPICS_KEY, topic)) || 8
        for (let p = 0; p < Math.max(n, 8); p++) await redis.del(streamKey(topic, p))
        await redis.hdel(TOPICS_KEY, topic)
      }
      redis.disconnect()
    })

    interface Ev {
      readonly id: number
      readonly k: string
      readonly topic?: string
    }
    const events = (n: number, keyCount = 8, topic?: string): Ev[] =>
      Array.from({ length: n }, (_, id) => (topic === undefined ? { id, k: `k${id % keyCount}` } : { id, k: `k${id % keyCount}`, topic }))
    const newTopic = (prefix: string) => {
      const topic = unique(prefix)
      topics.push(topic)
      return topic
    }
    const newGroup = () => {
      const group = unique('g')
      keys.push(`weir:members:${group}`, `weir:idle:${group}`)
      return group
    }
    const produce = async (topic: string, partitions: number, evs: readonly Ev[]) => {
      await createTopic(redis, topic, partitions)
      await run(pipeline({}, (s: Stream<Ev>) => s), evs, { sink: redisSink(redis, { topic, partitions, key: (e) => e.k, batch: 128 }) })
    }
    const consume = (o: Partial<RedisSourceOptions> & { group: string; consumer: string }): PulledSource<Ev> =>
      redisSource<Ev>(redis, { stopWhenIdleMs: 400, blockMs: 50, heartbeatMs: 50, ...o } as RedisSourceOptions)

    it('a sink whose flush fails (WRONGTYPE at the hash) fails the run promptly, without acknowledging', async () => {
      const topic = newTopic('edgefail')
      await produce(topic, 1, events(5))
      const hash = unique('edgeview')
      keys.push(hash)
      await redis.set(hash, 'not a hash')
      const group = newGroup()
      const stop = new AbortController()
      // A long-running consumer (no idle stop): a few events, fewer than the sink's batch.
      const running = run(pipeline({}, (s: Stream<Ev>) => s), consume({ topics: [topic], group, consumer: 'a', stopWhenIdleMs: undefined, signal: stop.signal }), {
        sink: redisUpsertSink(redis, { hash, key: (e: Ev) => e.id }),
      })
      const settled = running.then(
        () => 'resolved',
        (e: unknown) => e,
      )
      // Without the failure the run would go on forever (no idle stop): a generous deadline tells the two apart.
      const outcome = await Promise.race([settled, sleep(20_000).then(() => 'still running')])
      stop.abort()
      await settled
      expect(Number((await redis.xpending(streamKey(topic, 0), group))[0])).toBe(5)
      // The sink cannot write: the run must fail with the sink's error, not keep consuming.
      expect(outcome).toBeInstanceOf(Error)
      expect(String(outcome)).toMatch(/WRONGTYPE/)
    })

    it('redisSink refuses a partition count other than the topic\'s declared one (keys would move between streams)', async () => {
      const topic = newTopic('edgeparts')
      await createTopic(redis, topic, 4)
      const sink = redisSink(redis, { topic, partitions: 2, key: (e: Ev) => e.k })
      // createTopic: "Fails when the topic exists with another partition count, since re-partitioning
      // would move keys between streams and break per-key order". The sink declares the topic too.
      await expect(run(pipeline({}, (s: Stream<Ev>) => s), events(8), { sink })).rejects.toThrow(/partition/)
    })

    it('a group reading two topics keyed alike gives each key to one member (co-partitioned streams stay together)', async () => {
      const ns = unique('edgeco')
      const [a, b] = [`${ns}.a`, `${ns}.b`]
      topics.push(a, b)
      await produce(a, 3, events(60, 6, 'a'))
      await produce(b, 3, events(60, 6, 'b'))
      const group = newGroup()
      const byKey = pipeline({}, (s: Stream<Ev>) => pipe(s, map((e) => `${e.k}`)))
      const [x, y] = await Promise.all([
        run(byKey, consume({ topics: [a, b], group, consumer: 'x', minMembers: 2 })),
        run(byKey, consume({ topics: [a, b], group, consumer: 'y', minMembers: 2 })),
      ])
      expect(x.out.length + y.out.length).toBe(120)
      const inX = new Set(x.out)
      const inY = new Set(y.out)
      // "each live member owns a disjoint set of partition streams ..., so every key is handled by
      // one member and per-key state stays whole".
      expect([...inX].filter((k) => inY.has(k))).toEqual([])
    })

    it('a survivor processes a dead member\'s claimed entries once: a stateful count matches a clean run', async () => {
      const topic = newTopic('edgeclaim')
      const evs = events(60)
      await produce(topic, 1, evs)
      const group = newGroup()
      const fast = { heartbeatMs: 30, sessionTimeoutMs: 200, claimIdleMs: 100 }
      // A member reads 25 entries and dies before acknowledging them.
      const doomed = consume({ topics: [topic], group, consumer: 'doomed', ...fast })
      try {
        expect((await doomed.pull(25))!.length).toBe(25)
        await until('the doomed member is dead and its 25 entries claimable', async () => {
          const beat = Number(await redis.zscore(`weir:members:${group}`, 'doomed'))
          const idle = (await redis.xpending(streamKey(topic, 0), group, 'IDLE', 100, '-', '+', 100, 'doomed')) as unknown[]
          return beat < Date.now() - 200 && idle.length === 25
        })
        const perKey = pipeline({ name: 'perKey', eventTime: () => 0 }, (s: Stream<Ev>) => pipe(s, keyBy((e) => e.k), window(tumbling('1d')), aggregate(count)))
        const r = await run(perKey, consume({ topics: [topic], group, consumer: 'survivor', ...fast, stopWhenIdleMs: 500 }))
        const total = (r.out as unknown as { value: number }[]).reduce((n, o) => n + o.value, 0)
        // The 25 claimed entries are events like the others: counted once, as in a run without the crash.
        expect(r.metrics.eventsIn).toBe(60)
        expect(total).toBe(60)
      } finally {
        await doomed.close()
      }
    })

    it('a dead member with more than 1000 pending entries: the survivor never applies an older entry after a newer one of its key', async () => {
      const topic = newTopic('edgemany')
      const evs = events(2000, 10)
      await produce(topic, 1, evs)
      const group = newGroup()
      const hash = unique('edgelast')
      keys.push(hash)
      // Default heartbeat, session timeout and claim idle times (250, 2000, 1000 ms).
      const defaults = { heartbeatMs: undefined, sessionTimeoutMs: undefined, claimIdleMs: undefined }
      // A member (say a stateful one, holding acknowledgements) read 1500 entries and died.
      const doomed = consume({ topics: [topic], group, consumer: 'doomed', ...defaults })
      try {
        expect((await doomed.pull(1500))!.length).toBe(1500)
        // Until the member counts as dead (no heartbeat for the 2000 ms session timeout) and its
        // entries as claimable (idle for the 1000 ms claim time), however slow this machine is.
        await until('the doomed member is dead and its 1500 entries claimable', async () => {
          const beat = Number(await redis.zscore(`weir:members:${group}`, 'doomed'))
          const idle = (await redis.xpending(streamKey(topic, 0), group, 'IDLE', 1000, '-', '+', 2000, 'doomed')) as unknown[]
          return beat < Date.now() - 2000 && idle.length === 1500
        })
        await run(pipeline({}, (s: Stream<Ev>) => s), consume({ topics: [topic], group, consumer: 'survivor', ...defaults, stopWhenIdleMs: 500 }), {
          sink: redisUpsertSink(redis, { hash, key: (e: Ev) => e.k, value: (e) => e.id }),
        })
      } finally {
        await doomed.close()
      }
      // redisUpsertSink: "at-least-once delivery ends in the same state as exactly-once": each key's
      // last event (ids 1990..1999), as a run without the crash leaves it.
      const expected = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, String(1990 + i)]))
      expect(await redis.hgetall(hash)).toEqual(expected)
    })

    it('an acknowledgement that fails (the stream replaced by another type) rejects, instead of passing unnoticed', async () => {
      const topic = newTopic('edgeack')
      await produce(topic, 1, events(3))
      const group = newGroup()
      const src = consume({ topics: [topic], group, consumer: 'a' })
      try {
        const got = (await src.pull(3))!
        expect(got.length).toBe(3)
        await redis.del(streamKey(topic, 0))
        await redis.set(streamKey(topic, 0), 'not a stream')
        await expect(src.ack(got.map((r) => r.token))).rejects.toThrow(/WRONGTYPE/)
      } finally {
        await src.close()
      }
    })
    it('entries trimmed (redisSink maxLen) before a lagging group read them are reported, not skipped in silence', async () => {
      const topic = newTopic('edgetrim')
      const group = newGroup()
      await createTopic(redis, topic, 1)
      // The group exists and has read nothing yet (a consumer that is behind).
      await redis.xgroup('CREATE', streamKey(topic, 0), group, '0', 'MKSTREAM')
      await run(pipeline({}, (s: Stream<Ev>) => s), events(500), { sink: redisSink(redis, { topic, partitions: 1, key: (e: Ev) => e.k, maxLen: 50 }) })
      const r = await run(pipeline({}, (s: Stream<Ev>) => s), consume({ topics: [topic], group, consumer: 'a' }))
      expect(r.out.length).toBeLessThan(500)
      // "never lost silently": the entries the group will never see are at least reported.
      expect(r.deadLetters.map((d) => d.message)).toEqual([expect.stringMatching(/were deleted \(trimmed\) before group .* read them/)])
    })
  })
})
