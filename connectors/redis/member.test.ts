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
import { fencedUpsertSink, runMember } from './member.ts'
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
