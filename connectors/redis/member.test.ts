import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { Stream } from '../../dsl/stream.ts'
import type { Change } from '../../dsl/change.ts'
import type { Sink } from '../sinks.ts'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { redisSink } from './sink.ts'
import { createTopic, streamKey } from './topic.ts'
import { leaseKeys } from './lease.ts'
import { checkpointsKey, fencedUpsertSink, runMember } from './member.ts'
import { pipe } from 'fp-ts/lib/function.js'
import { source } from '../../dsl/sources.ts'
import { keyBy, merge } from '../../dsl/stages.ts'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count } from '../../dsl/aggregations.ts'
import { boundedOutOfOrder, idleTimeout } from '../../dsl/watermarks.ts'
import joinCount, { expectedPairs, type Act } from './fixtures/joinCount.ts'
import type { Checkpoint } from '../../harness/checkpoint.ts'
import slowCount from './fixtures/slowCount.ts'
import type { Ev } from './fixtures/slowSquare.ts'

type Count = Change<string, { key: string; value: number }>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// runMember in this process, its group's idle exit (`idleExitMs`) against the moments a partition's
// entries are pending at a member without being in any run's state: claimed and not yet read, or
// read by a run that has since lost its lease. Ending then must not leave them pending for nobody.
describe.skipIf(missing('REDIS_URL'))('runMember ending on an idle group (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  /** A one-partition topic of `n` events over `keys` keys, a group on it and a view to count into. */
  const setup = async (n: number, keys: number) => {
    const topic = unique('mt')
    const group = unique('g')
    const view = unique('view')
    const events: Ev[] = Array.from({ length: n }, (_, id) => ({ id, k: `k${id % keys}` }))
    await createTopic(redis, topic, 1)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: 1, key: (e) => e.k }) })
    await redis.xgroup('CREATE', streamKey(topic, 0), group, '0', 'MKSTREAM')
    const upsert = (lease: Parameters<typeof fencedUpsertSink>[0]) =>
      fencedUpsertSink<Count>(lease, view, (c) => c.key, (c) => (c.op === 'delete' ? undefined : c.after))
    const counts = async () => Object.fromEntries(Object.values(await redis.hgetall(view)).map((v) => [JSON.parse(v).key, JSON.parse(v).value]))
    const expected = Object.fromEntries(Array.from({ length: keys }, (_, k) => [`k${k}`, n / keys]))
    const pending = async () => Number((await redis.xpending(streamKey(topic, 0), group))[0])
    return { topic, group, upsert, counts, expected, pending }
  }

  it('a member ending as soon as the group is drained first reads every entry it claimed from a dead member', async () => {
    const { topic, group, upsert, counts, expected, pending } = await setup(400, 10)
    // A member that read everything and died: all of it is pending at it, none of it counted.
    await redis.xreadgroup('GROUP', group, 'w0', 'COUNT', 1000, 'STREAMS', streamKey(topic, 0), '>')
    expect(await pending()).toBe(400)
    // Idle exit at once: the group counts as drained while the entries it took over are pending at
    // it, claimed but read only a page (64) at a time, about 1 ms of CPU each.
    const summary = await runMember(slowCount, redis, { topics: [topic], group, consumer: 'w1', heartbeatMs: 50, idleExitMs: 0, sink: upsert })
    expect(summary.eventsIn).toBe(400)
    expect(await counts()).toEqual(expected)
    expect(await pending()).toBe(0)
  }, 30_000)

  // The run of the partition has read all 64 entries, and is stuck on its sink (the first write
  // waits for a gate) when its lease is lost: deleted, as it would expire while the member is paused.
  for (const when of ['before', 'after'] as const)
    it(`a member that loses a partition ${when} it finds the group drained takes it back and finishes it, instead of leaving its entries pending`, async () => {
      const { topic, group, upsert, counts, expected, pending } = await setup(64, 4)
      let open!: () => void
      const gate = new Promise<void>((resolve) => (open = resolve))
      let first = true
      const sink = (lease: Parameters<typeof upsert>[0]): Sink<Count> => {
        const inner = upsert(lease)
        return {
          write(c) {
            if (!first) return inner.write(c)
            first = false
            return gate.then(() => inner.write(c))
          },
          flush: () => inner.flush!(),
          close: () => inner.close!(),
        }
      }
      const idleExitMs = when === 'before' ? 500 : 150
      const fenced: number[] = []
      const member = runMember(slowCount, redis, { topics: [topic], group, consumer: 'w1', heartbeatMs: 50, idleExitMs, sink, onFenced: (p) => fenced.push(p) })
      while ((await pending()) < 64) await sleep(5)
      // 'after': once the member has found itself idle (and the group drained: all delivered, all
      // pending at its own running partition), with a beat to spare.
      if (when === 'after') {
        while ((await redis.sismember(`weir:group:${group}:idle`, 'w1')) === 0) await sleep(5)
        await sleep(150)
      }
      await redis.del(leaseKeys(group, 0).lease)
      await sleep(600)
      open()
      const summary = await member
      expect(fenced).toEqual([0])
      expect(summary.fenced).toBe(1)
      expect(await counts()).toEqual(expected)
      expect(await pending()).toBe(0)
    }, 30_000)
})

// A join of two topics (joinCount: clicks with the same user's searches within 5 ms, counted per
// user with a checksum of the pairs) run by members: partition p of both topics moves as one, its
// checkpoint holding the join's state and each topic's position.
describe.skipIf(missing('REDIS_URL'))('runMember of a pipeline with several sources, co-partitioned (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  type Totals = Change<string, { key: string; value: { pairs: number; checksum: number } }>

  /** Two topics of `n` events each over 20 users, partitioned by user, and a view to count into. */
  const setup = async (n: number) => {
    const clicks = unique('clicks')
    const searches = unique('searches')
    const group = unique('g')
    const view = unique('view')
    const cs: Act[] = Array.from({ length: n }, (_, i) => ({ id: i, user: `u${i % 20}`, at: i * 2 }))
    const ss: Act[] = Array.from({ length: n }, (_, i) => ({ id: i, user: `u${(i * 7) % 20}`, at: i * 2 + 1 }))
    for (const [topic, events] of [[clicks, cs], [searches, ss]] as const) {
      await createTopic(redis, topic, 2)
      await run(pipeline({}, (s: Stream<Act>) => s), events, { sink: redisSink(redis, { topic, partitions: 2, key: (e) => e.user }) })
    }
    const streams = [0, 1].flatMap((p) => [streamKey(clicks, p), streamKey(searches, p)])
    const upsert = (lease: Parameters<typeof fencedUpsertSink>[0]) =>
      fencedUpsertSink<Totals>(lease, view, (c) => c.key, (c) => (c.op === 'delete' ? undefined : c.after))
    const totals = async () => Object.fromEntries(Object.values(await redis.hgetall(view)).map((v) => [JSON.parse(v).key, JSON.parse(v).value]))
    const pending = async () => {
      let total = 0
      for (const s of streams) total += Number((await redis.xpending(s, group))[0])
      return total
    }
    const member = (consumer: string, o: Partial<Parameters<typeof runMember>[2]> = {}) =>
      runMember(joinCount, redis, { topics: { clicks, searches }, group, consumer, heartbeatMs: 50, checkpointEvery: 50, sink: upsert, ...o })
    return { group, view, member, totals, pending, expected: expectedPairs(cs, ss) }
  }

  it('a handoff moves partition p of both topics: the checkpoint holds each position, the next member goes on from both, nothing lost or applied twice', async () => {
    const { group, view, member, totals, pending, expected } = await setup(1000)
    const leave = new AbortController()
    const first = member('w1', { signal: leave.signal })
    while ((await redis.hlen(view)) < 3) await sleep(10)
    leave.abort()
    const s1 = await first
    // Handed over: everything it read is in a checkpoint (and acknowledged), both topics' positions in it.
    expect(await pending()).toBe(0)
    const cps = Object.values(await redis.hgetall(checkpointsKey(group))).map((c) => JSON.parse(c) as Checkpoint)
    expect(cps).toHaveLength(2)
    for (const c of cps) {
      expect(Object.keys(c.offsets!).sort()).toEqual(['clicks', 'searches'])
      expect(c.offset).toBe(c.offsets!.clicks + c.offsets!.searches)
    }
    const read = cps.reduce((n, c) => n + c.offset, 0)
    expect(read).toBe(s1.eventsIn)
    expect(read).toBeLessThan(2000)
    const s2 = await member('w2', { idleExitMs: 300 })
    expect(s1.eventsIn + s2.eventsIn).toBe(2000)
    expect(await totals()).toEqual(expected)
    expect(await pending()).toBe(0)
  }, 60_000)

  it('an idle topic does not hold a partition back for ever: past its idleTimeout, the windows of the other topic fire while the member runs', async () => {
    const clicks = unique('clicks')
    const searches = unique('searches')
    const group = unique('g')
    for (const topic of [clicks, searches]) await createTopic(redis, topic, 1)
    const cs: Act[] = Array.from({ length: 50 }, (_, i) => ({ id: i, user: `u${i % 2}`, at: i * 10 }))
    await run(pipeline({}, (s: Stream<Act>) => s), cs, { sink: redisSink(redis, { topic: clicks, partitions: 1, key: (e) => e.user }) })
    const perWindow = pipeline(
      {
        name: 'perWindow',
        sources: {
          clicks: source({ eventTime: (c: Act) => c.at }),
          // Nothing ever comes on this topic: after 200 ms it no longer holds the watermark back.
          searches: source({ eventTime: (s: Act) => s.at, watermark: [boundedOutOfOrder(0), idleTimeout('200ms')] }),
        },
      },
      ({ clicks, searches }) => pipe(clicks, merge(searches), keyBy((a) => a.user), window(tumbling(100)), aggregate(count)),
    )
    const out: unknown[] = []
    const leave = new AbortController()
    const member = runMember(perWindow, redis, { topics: { clicks, searches }, group, consumer: 'w1', heartbeatMs: 50, signal: leave.signal, sink: () => ({ write: (o) => void out.push(o) }) })
    const deadline = Date.now() + 10_000
    while (out.length === 0 && Date.now() < deadline) await sleep(20)
    // Handed over, not ended: only the idle timeout can have fired these windows.
    leave.abort()
    await member
    expect(out.length).toBeGreaterThan(0)
    expect(out).toContainEqual({ key: 'u0', window: { start: 0, end: 100 }, value: 5 })
  }, 30_000)

  it('refuses a join keyed by something other than the topics\' routing key', async () => {
    const clicks = unique('clicks')
    const searches = unique('searches')
    const byId = (e: Act) => e.id
    for (const topic of [clicks, searches]) {
      await createTopic(redis, topic, 2)
      const events: Act[] = Array.from({ length: 20 }, (_, i) => ({ id: i, user: `u${i % 5}`, at: i }))
      await run(pipeline({}, (s: Stream<Act>) => s), events, { sink: redisSink(redis, { topic, partitions: 2, key: byId }) })
    }
    const sink = () => ({ write: () => undefined })
    await expect(runMember(joinCount, redis, { topics: { clicks, searches }, group: unique('g'), consumer: 'w1', heartbeatMs: 50, idleExitMs: 300, sink })).rejects.toThrow(
      /a stateful stage is keyed by something other than the topic's routing key: key "u\d" belongs to partition \d of 2, but came in partition \d/,
    )
  }, 30_000)

  it('a member dying mid-partition: its successor restores the checkpoint and re-reads what each topic had pending after it, neither losing nor duplicating a pair', async () => {
    const { member, totals, pending, expected } = await setup(600)
    let writes = 0
    const dying = (lease: Parameters<typeof fencedUpsertSink>[0]): Sink<Totals> => {
      const inner = fencedUpsertSink<Totals>(lease, 'ignored', (c) => c.key)
      return {
        write(c) {
          if (++writes > 150) throw new Error('the member died')
          return inner.write(c)
        },
      }
    }
    // Its outputs go nowhere: the view holds only what the successor writes, so every pair counted
    // there is counted from the restored state plus what was re-read.
    await expect(member('w1', { leaseMs: 400, sink: dying })).rejects.toThrow('the member died')
    expect(await pending()).toBeGreaterThan(0)
    await member('w2', { leaseMs: 400, idleExitMs: 300 })
    expect(await totals()).toEqual(expected)
    expect(await pending()).toBe(0)
  }, 60_000)
})
