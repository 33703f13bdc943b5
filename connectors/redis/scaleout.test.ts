import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { existsSync, mkdtempSync } from 'node:fs'
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
import { square, type Ev } from './fixtures/slowSquare.ts'

const fixture = fileURLToPath(new URL('./fixtures/slowSquare.ts', import.meta.url))
const countFixture = fileURLToPath(new URL('./fixtures/slowCount.ts', import.meta.url))
const poisonFixture = fileURLToPath(new URL('./fixtures/poison.ts', import.meta.url))

describe.skipIf(missing('REDIS_URL'))('weir run --redis in several processes (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  it('splits the work; a worker killed with SIGKILL loses nothing and the upsert view equals a clean single run', async () => {
    const n = 3000
    const topic = unique('scale')
    const group = unique('g')
    const view = unique('view')
    const events: Ev[] = Array.from({ length: n }, (_, id) => ({ id, k: `k${id % 50}` }))
    await createTopic(redis, topic, 4)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: 4, key: (e) => e.k }) })

    const worker = (name: string) =>
      spawnWeir(['run', fixture, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', name, '--upsert', view, '--key', 'id', '--idle-exit', '3000'])
    const workers = [worker('w1'), worker('w2'), worker('w3')]
    const stderr = workers.map((w) => w.err)

    // Kill w2 once the work is well under way (and before it can be done).
    while ((await redis.hlen(view)) < n / 6) await new Promise((r) => setTimeout(r, 20))
    const beforeKill = await redis.hlen(view)
    workers[1].kill('SIGKILL')
    const results = await Promise.all(workers.map(exited))
    expect(results[1].signal).toBe('SIGKILL')
    expect(results[0].code, stderr[0]()).toBe(0)
    expect(results[2].code, stderr[2]()).toBe(0)
    expect(beforeKill).toBeLessThan(n)

    const clean = Object.fromEntries(events.map((e) => [String(e.id), JSON.stringify(square(e))]))
    expect(await redis.hgetall(view)).toEqual(clean)
    // Both survivors took part, and nothing is left pending in the group.
    for (const i of [0, 2]) expect(stderr[i]()).toMatch(/[1-9]\d* events in/)
    for (let p = 0; p < 4; p++) expect(Number((await redis.xpending(`${topic}:${p}`, group))[0])).toBe(0)
  }, 60_000)

  it('a stateful worker killed with SIGKILL and restarted from its --checkpoint file ends with the counts of a clean run', async () => {
    const n = 3000
    const topic = unique('cp')
    const group = unique('g')
    const view = unique('view')
    const cp = join(mkdtempSync(join(tmpdir(), 'weir-cp-')), 'checkpoint.json')
    const events: Ev[] = Array.from({ length: n }, (_, id) => ({ id, k: `k${id % 7}` }))
    await createTopic(redis, topic, 2)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: 2, key: (e) => e.k }) })

    const worker = () =>
      spawnWeir(['run', countFixture, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', 'w1',
        '--upsert', view, '--idle-exit', '1500', '--checkpoint', cp, '--checkpoint-every', '100'])
    const first = worker()
    // Kill it once a few checkpoints are behind it and much is left to do.
    while (!existsSync(cp)) await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 300))
    first.kill('SIGKILL')
    expect((await exited(first)).signal, first.err()).toBe('SIGKILL')

    const second = worker()
    expect((await exited(second)).code, second.err()).toBe(0)
    const err = second.err()
    // The restarted worker did not start over: the checkpoint covered part of the log.
    const consumed = Number(/(\d+) events in/.exec(err)?.[1])
    expect(consumed).toBeGreaterThan(0)
    expect(consumed).toBeLessThan(n)

    const counts = Object.fromEntries(Object.values(await redis.hgetall(view)).map((v) => {
      const r = JSON.parse(v) as { key: string; value: number }
      return [r.key, r.value]
    }))
    const clean: Record<string, number> = {}
    for (const e of events) clean[e.k] = (clean[e.k] ?? 0) + 1
    expect(counts).toEqual(clean)
    for (let p = 0; p < 2; p++) expect(Number((await redis.xpending(`${topic}:${p}`, group))[0])).toBe(0)
  }, 60_000)

  it('an entry that kills its worker every time goes, after --max-deliveries restarts, to <topic>:dead-letters; the group is not wedged', async () => {
    const topic = unique('poison')
    const group = unique('g')
    const view = unique('view')
    const events = Array.from({ length: 30 }, (_, id) => ({ id, k: `k${id % 3}`, ...(id === 12 ? { poison: true } : {}) }))
    await createTopic(redis, topic, 1)
    await run(pipeline({}, (s: Stream<Ev>) => s), events, { sink: redisSink(redis, { topic, partitions: 1, key: (e) => e.k }) })

    const worker = () =>
      runWeir(['run', poisonFixture, '--redis', REDIS_URL!, '--from', topic, '--group', group, '--consumer', 'w1',
        '--upsert', view, '--key', 'id', '--idle-exit', '500', '--max-deliveries', '2'])
    // Read once, then redelivered once (2 deliveries): each time the worker dies on it.
    expect((await worker()).code).toBe(3)
    expect((await worker()).code).toBe(3)
    const last = await worker()
    expect(last.code, last.err).toBe(0)
    expect(last.err).toMatch(/dead letter \(redelivered\) in source .*was delivered 3 times \(maxDeliveries 2\)/)

    const dead = await redis.xrange(`${topic}:dead-letters`, '-', '+')
    expect(dead).toHaveLength(1)
    const fields = Object.fromEntries(Array.from({ length: dead[0][1].length / 2 }, (_, i) => [dead[0][1][2 * i], dead[0][1][2 * i + 1]]))
    expect(JSON.parse(fields.e)).toEqual(events[12])
    expect(fields).toMatchObject({ stream: `${topic}:0`, group, deliveries: '3' })
    // Every other event reached the view, and nothing is left pending.
    expect(Object.keys(await redis.hgetall(view)).map(Number).sort((a, b) => a - b)).toEqual(events.map((e) => e.id).filter((id) => id !== 12))
    expect(Number((await redis.xpending(`${topic}:0`, group))[0])).toBe(0)
  }, 60_000)
})
