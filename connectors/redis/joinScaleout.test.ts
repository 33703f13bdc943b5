import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { Stream } from '../../dsl/stream.ts'
import type { Change } from '../../dsl/change.ts'
import { fromLog } from '../sources.ts'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { exited, spawnWeir, type WeirProcess } from '../testing/weirProcess.ts'
import { redisSink } from './sink.ts'
import { createTopic, streamKey } from './topic.ts'
import { checkpointsKey } from './member.ts'
import joinCount, { type Act } from './fixtures/joinCount.ts'

// A stateful join of two topics (joinCount: clicks with the same user's searches within 5 ms,
// counted per user with a checksum of the pairs) run by `weir run --redis --from
// clicks=<topic>,searches=<topic>` members, co-partitioned: partition p of both topics moves as
// one. Members die and join mid-run; the view must end as a replay of the same records as one log.

const fixture = fileURLToPath(new URL('./fixtures/joinCount.ts', import.meta.url))
const PARTITIONS = 4
const N = 1500

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const owning = async (w: WeirProcess) => {
  while (!/owns partitions \[\d/.test(w.err())) await sleep(20)
}

type Totals = Change<string, { key: string; value: { pairs: number; checksum: number } }>

describe.skipIf(missing('REDIS_URL'))('a join of two topics run by weir members, co-partitioned (real server)', () => {
  let redis: Redis
  const dir = mkdtempSync(join(tmpdir(), 'weir-join-scaleout-'))
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => {
    redis.disconnect()
    rmSync(dir, { recursive: true, force: true })
  })

  it('one member SIGKILLed at a random point and one joining mid-run end with the output of a replay of the same records', async () => {
    const clicks = unique('clicks')
    const searches = unique('searches')
    const group = unique('g')
    const view = unique('view')
    const cs: Act[] = Array.from({ length: N }, (_, i) => ({ id: i, user: `u${i % 20}`, at: i * 2 }))
    const ss: Act[] = Array.from({ length: N }, (_, i) => ({ id: i, user: `u${(i * 7) % 20}`, at: i * 2 + 1 }))
    for (const topic of [clicks, searches]) await createTopic(redis, topic, PARTITIONS)
    // The oracle: the same records as one recorded log, routed to the sources by topic.
    const log = join(dir, 'both.ndjson')
    writeFileSync(log, cs.flatMap((c, i) => [{ topic: 'clicks', event: c }, { topic: 'searches', event: ss[i] }]).map((r, offset) => JSON.stringify({ offset, arrival: offset, ...r })).join('\n') + '\n')
    const replayed = new Map<string, unknown>()
    for (const c of (await run(joinCount, fromLog(log))).out as Totals[]) replayed.set(String(c.key), c.op === 'delete' ? undefined : c.after)

    const worker = (name: string) =>
      spawnWeir(['run', fixture, '--redis', REDIS_URL!, '--from', `clicks=${clicks},searches=${searches}`, '--group', group, '--consumer', name,
        '--upsert', view, '--idle-exit', '3000', '--lease', '1500'])
    const ws = [worker('w1'), worker('w2')]
    await Promise.all(ws.map(owning))
    // Written once both are up: a member starting slowly (a loaded machine) misses none of the work.
    for (const [topic, events] of [[clicks, cs], [searches, ss]] as const)
      await run(pipeline({}, (s: Stream<Act>) => s), events, { sink: redisSink(redis, { topic, partitions: PARTITIONS, key: (e) => e.user }) })
    /** Entries read and held by no checkpoint yet, in all or at one member (no periodic checkpoint comes before the end: 1,000 records a partition). */
    const pending = async (consumer?: string) => {
      let n = 0
      for (let p = 0; p < PARTITIONS; p++)
        for (const t of [clicks, searches])
          n += consumer === undefined ? Number((await redis.xpending(streamKey(t, p), group))[0]) : (await redis.xpending(streamKey(t, p), group, '-', '+', 10_000, consumer)).length
      return n
    }
    // Under way (a tenth of the entries read), then a third member joins, and w1 dies a random while
    // later, holding work no checkpoint covers: entries it read, pending at it, for its successors.
    while ((await pending()) < (2 * N) / 10) await sleep(20)
    ws.push(worker('w3'))
    const delay = Math.floor(Math.random() * 400)
    await sleep(delay)
    let held = 0
    for (let tries = 0; tries < 100 && held === 0; tries++) if ((held = await pending('w1')) === 0) await sleep(20)
    ws[0].kill('SIGKILL')
    const rs = await Promise.all(ws.map(exited))
    const how = `w1 killed ${delay} ms after w3 started, holding ${held} entries`
    expect(rs[0].signal, `${how}\n${ws[0].err()}`).toBe('SIGKILL')
    for (const i of [1, 2]) expect(rs[i].code, ws[i].err()).toBe(0)
    expect(ws[2].err(), how).toMatch(/w3 owns partitions \[\d/)

    const written = Object.fromEntries(Object.entries(await redis.hgetall(view)).map(([k, v]) => [k, JSON.parse(v)]))
    expect(written, how).toEqual(Object.fromEntries(replayed))
    for (let p = 0; p < PARTITIONS; p++)
      for (const t of [clicks, searches]) expect(Number((await redis.xpending(streamKey(t, p), group))[0])).toBe(0)
    expect(await redis.hlen(checkpointsKey(group))).toBe(PARTITIONS)
    expect(held, how).toBeGreaterThan(0)
  }, 60_000)
})
