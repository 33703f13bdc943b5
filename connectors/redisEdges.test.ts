/**
 * Redis Streams consumer groups at their edges (found by a review, each failing before its fix):
 * a sink that cannot write, a sink with another partition count, co-partitioned topics, and a
 * survivor claiming a dead member's entries (once each, and all before newer ones), a failed
 * acknowledgement, and entries trimmed before a lagging group read them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../harness/run.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import type { Stream } from '../dsl/stream.ts'
import type { PulledSource } from './sources.ts'
import { REDIS_URL, missing, unique } from './testing/servers.ts'
import { redisSource, type RedisSourceOptions } from './redis/source.ts'
import { redisSink, redisUpsertSink } from './redis/sink.ts'
import { createTopic, streamKey, TOPICS_KEY } from './redis/topic.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `ready` every 50 ms until it holds; fails naming `what` after `deadlineMs` (a generous bound, not a margin the test relies on). */
async function until(what: string, ready: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting until ${what}`)
    await sleep(50)
  }
}


describe.skipIf(missing('REDIS_URL'))('Redis Streams connectors at their edges (real server)', () => {
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
