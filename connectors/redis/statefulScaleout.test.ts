import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { Stream } from '../../dsl/stream.ts'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { exited, runWeir, spawnWeir } from '../testing/weirProcess.ts'
import { redisSink } from './sink.ts'
import { createTopic } from './topic.ts'
import { checkpointsKey } from './member.ts'
import type { Ev } from './fixtures/slowSquare.ts'

// Stateful pipelines as group members (`weir run --redis` of slowCount: a running count per key,
// ~1 ms of CPU per event, emitted as updates into an upsert hash). Each scenario ends with exactly
// the counts of one process reading everything, and nothing pending in the group.

const countFixture = fileURLToPath(new URL('./fixtures/slowCount.ts', import.meta.url))
const poisonFixture = fileURLToPath(new URL('./fixtures/poisonCount.ts', import.meta.url))
const rekeyedFixture = fileURLToPath(new URL('./fixtures/rekeyedCount.ts', import.meta.url))
const PARTITIONS = 4
const LEASE = '2000'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Waits until a member says it owns some partition (it has joined and is reading). */
const owning = async (w: { err(): string }) => {
  while (!/owns partitions \[\d/.test(w.err())) await sleep(20)
}

describe.skipIf(missing('REDIS_URL'))('stateful weir run --redis members: state moves with its partition (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  /** A topic of `n` events over 50 keys, a group and a view to run them into. */
  const setup = async (n: number) => {
    const topic = unique('st')
    const group = unique('g')
    const view = unique('view')
    const events: Ev[] = Array.from({ length: n }, (_, id) => ({ id, k: `k${id % 50}` }))
    await createTopic(redis, topic, PARTITIONS)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: PARTITIONS, key: (e) => e.k }) })
    const worker = (name: string, fixture = countFixture, extra: string[] = []) =>
      spawnWeir(['run', fixture, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', name,
        '--upsert', view, '--idle-exit', '1500', '--lease', LEASE, ...extra])
    /** Waits until the view has this many keys written (the work is under way). */
    const progress = async (keys: number) => {
      while ((await redis.hlen(view)) < keys) await sleep(20)
    }
    const check = async () => {
      const counts: Record<string, number> = {}
      for (const v of Object.values(await redis.hgetall(view))) {
        const r = JSON.parse(v) as { key: string; value: number }
        counts[r.key] = r.value
      }
      const clean: Record<string, number> = {}
      for (const e of events) clean[e.k] = (clean[e.k] ?? 0) + 1
      expect(counts).toEqual(clean)
      for (let p = 0; p < PARTITIONS; p++) expect(Number((await redis.xpending(`${topic}:${p}`, group))[0])).toBe(0)
      // Every partition's last checkpoint is in the group's hash.
      expect(await redis.hlen(checkpointsKey(group))).toBe(PARTITIONS)
    }
    return { worker, progress, check }
  }

  it('(a) a second member joins mid-run: it takes partitions with their state; counts equal one process', async () => {
    const { worker, check } = await setup(4000)
    const w1 = worker('w1')
    await owning(w1)
    const w2 = worker('w2')
    const [r1, r2] = await Promise.all([exited(w1), exited(w2)])
    expect(r1.code, w1.err()).toBe(0)
    expect(r2.code, w2.err()).toBe(0)
    expect(w1.err()).toMatch(/w1 owns partitions \[0,1,2,3\]/)
    // w2 got a share while there was work, and said so.
    expect(w2.err()).toMatch(/w2 owns partitions \[\d(,\d)?\]/)
    expect(w2.err()).toMatch(/[1-9]\d* events in/)
    await check()
  }, 60_000)

  it('(b) one of three is SIGKILLed for good: its partitions move after its lease with their checkpoints', async () => {
    const { worker, progress, check } = await setup(2000)
    const ws = [worker('w1'), worker('w2'), worker('w3')]
    await progress(50)
    await sleep(300)
    ws[1].kill('SIGKILL')
    const rs = await Promise.all(ws.map(exited))
    expect(rs[1].signal).toBe('SIGKILL')
    for (const i of [0, 2]) expect(rs[i].code, ws[i].err()).toBe(0)
    await check()
  }, 60_000)

  it('(c) one is SIGSTOPped past its lease, then SIGCONTed: its writes are fenced; counts equal one process', async () => {
    const { worker, progress, check } = await setup(2000)
    const ws = [worker('w1'), worker('w2')]
    await Promise.all(ws.map(owning))
    await progress(50)
    ws[0].kill('SIGSTOP')
    await sleep(4500)
    ws[0].kill('SIGCONT')
    const rs = await Promise.all(ws.map(exited))
    for (const i of [0, 1]) expect(rs[i].code, ws[i].err()).toBe(0)
    expect(ws[0].err()).toMatch(/w1 lost partition \d while it could not renew its lease: its writes were refused/)
    await check()
  }, 60_000)

  it('(d) a rolling restart of every member (SIGTERM, then started again) ends as one process', async () => {
    const { worker, progress, check } = await setup(3000)
    const ws = [worker('w1'), worker('w2')]
    await progress(50)
    for (const i of [0, 1]) {
      ws[i].kill('SIGTERM')
      expect((await exited(ws[i])).code, ws[i].err()).toBe(0)
      ws[i] = worker(`w${i + 1}`)
      await sleep(300)
    }
    const rs = await Promise.all(ws.map(exited))
    for (const i of [0, 1]) expect(rs[i].code, ws[i].err()).toBe(0)
    await check()
  }, 60_000)

  it('refuses a stateful stage keyed by something other than the routing key, in one line', async () => {
    const { worker } = await setup(200)
    const w = worker('w1', rekeyedFixture)
    const r = await exited(w)
    expect(r.code).toBe(2)
    const lines = w.err().trim().split('\n')
    expect(lines.at(-1)).toMatch(/^weir: a stateful stage is keyed by something other than the topic's routing key: key .* belongs to partition \d of 4, but came in partition \d/)
    expect(w.err()).not.toMatch(/\n\s+at /)
  }, 60_000)

  it('a member checkpointing its whole state to one --checkpoint file refuses to run beside other members', async () => {
    const { worker } = await setup(2000)
    const w1 = worker('w1')
    await owning(w1)
    const w2 = worker('w2', countFixture, ['--checkpoint', join(mkdtempSync(join(tmpdir(), 'weir-cp-')), 'cp.json')])
    const r2 = await exited(w2)
    expect(r2.code).toBe(1)
    expect(w2.err().trim()).toMatch(/^weir: group \S+ has other live members \(w1\): a stateful run checkpointed to one file must run alone/)
    expect((await exited(w1)).code, w1.err()).toBe(0)
  }, 60_000)

  it('an entry that kills its member every time goes, after --max-deliveries restarts, to <topic>:dead-letters; the counts go on', async () => {
    const topic = unique('poison')
    const group = unique('g')
    const view = unique('view')
    const events = Array.from({ length: 30 }, (_, id) => ({ id, k: `k${id % 3}`, ...(id === 12 ? { poison: true } : {}) }))
    await createTopic(redis, topic, 1)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: 1, key: (e) => e.k }) })
    const member = () =>
      runWeir(['run', poisonFixture, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', 'w1',
        '--upsert', view, '--idle-exit', '500', '--max-deliveries', '2'])
    // Read once in a batch, then alone (2 deliveries): each time the member dies on it.
    expect((await member()).code).toBe(3)
    expect((await member()).code).toBe(3)
    const last = await member()
    expect(last.code, last.err).toBe(0)
    expect(last.err).toMatch(/dead letter \(redelivered\) in source .*was delivered 3 times \(maxDeliveries 2\)/)
    const dead = await redis.xrange(`${topic}:dead-letters`, '-', '+')
    expect(dead).toHaveLength(1)
    expect(JSON.parse(dead[0][1][1])).toEqual(events[12])
    const counts = Object.fromEntries(Object.values(await redis.hgetall(view)).map((v) => [JSON.parse(v).key, JSON.parse(v).value]))
    expect(counts).toEqual({ k0: 9, k1: 10, k2: 10 })
    expect(Number((await redis.xpending(`${topic}:0`, group))[0])).toBe(0)
  }, 60_000)
})
