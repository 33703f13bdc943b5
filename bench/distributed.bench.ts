import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { pipe } from 'fp-ts/lib/function.js'
import type { Report } from './util.ts'
import { run } from '../harness/run.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { table } from '../dsl/tables.ts'
import type { Key, Stream } from '../dsl/stream.ts'
import type { Change } from '../dsl/change.ts'
import { redisSink } from '../connectors/redis/sink.ts'
import { createTopic, streamKey } from '../connectors/redis/topic.ts'
import { createCdc, dropCdc, pgChanges, type RowChange } from '../connectors/postgres/cdc.ts'
import hourlyDelays, { type Flight } from './fixtures/hourlyDelays.ts'

const N = 100_000
const PARTITIONS = 4
const bin = fileURLToPath(new URL('../bin/weir.mjs', import.meta.url))
const module = fileURLToPath(new URL('./fixtures/hourlyDelays.ts', import.meta.url))
const airports = Array.from({ length: 60 }, (_, i) => `A${i}`)
const flights: Flight[] = Array.from({ length: N }, (_, id) => ({ id, origin: airports[(id * 7) % 60], t: 1_000_000 + id * 30_000, delay: (id * 13) % 90 }))
const tag = `${process.pid}_${Date.now().toString(36)}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Time for `workers` processes of `weir run --redis` to consume the topic, from the moment the first is live. */
async function workersRun(redis: Redis, workers: number): Promise<{ ms: number; produceMs: number }> {
  const topic = `bench_in_${tag}_${workers}`
  const group = `bench_g_${tag}_${workers}`
  await createTopic(redis, topic, PARTITIONS)
  const t0 = performance.now()
  await run(pipeline({}, (s: Stream<Flight>) => s), flights, { sink: redisSink(redis, { topic, partitions: PARTITIONS, key: (f) => f.origin, batch: 1000 }) })
  const produceMs = performance.now() - t0
  const procs = Array.from({ length: workers }, (_, i) =>
    spawn(process.execPath, [bin, 'run', module, '--redis', process.env.REDIS_URL!, '--from', topic, '--group', group, '--consumer', `w${i}`,
      '--to', `bench_out_${tag}_${workers}`, '--partitions', String(PARTITIONS), '--idle-exit', '500'], { stdio: 'ignore' }),
  )
  const exited = procs.map((p) => new Promise((resolve) => p.once('exit', resolve)))
  // Start the clock once the first member is live (process start-up is not throughput); the others
  // join while it works, and take their partitions over from it with their state, as in production.
  while ((await redis.zcard(`weir:members:${group}`)) < 1) await sleep(5)
  const start = performance.now()
  // Done when the group has read every entry of every partition. Each worker reads at most its
  // credit window (1024) ahead of what it has processed, which is under 1% of N per worker.
  for (;;) {
    let lag = 0
    for (let p = 0; p < PARTITIONS; p++) {
      const groups = (await redis.xinfo('GROUPS', streamKey(topic, p))) as unknown[][]
      const g = groups.find((x) => x[x.indexOf('name') + 1] === group)
      lag += g === undefined ? N : Number(g[g.indexOf('lag') + 1])
    }
    if (lag === 0) break
    await sleep(5)
  }
  const ms = performance.now() - start
  await Promise.all(exited)
  for (let p = 0; p < PARTITIONS; p++) await redis.del(streamKey(topic, p), streamKey(`bench_out_${tag}_${workers}`, p))
  return { ms, produceMs }
}

/**
 * The ceiling: one process moving every entry with raw ioredis, XREADGROUP (batches of 1000 over the
 * partition streams) + XADD of each entry to an output stream + XACK, pipelined, no pipeline at all.
 */
async function rawLoop(redis: Redis): Promise<number> {
  const topic = `bench_raw_${tag}`
  const group = `bench_rawg_${tag}`
  await createTopic(redis, topic, PARTITIONS)
  await run(pipeline({}, (s: Stream<Flight>) => s), flights, { sink: redisSink(redis, { topic, partitions: PARTITIONS, key: (f) => f.origin, batch: 1000 }) })
  const streams = Array.from({ length: PARTITIONS }, (_, p) => streamKey(topic, p))
  for (const s of streams) await redis.xgroup('CREATE', s, group, '0')
  const t0 = performance.now()
  let moved = 0
  while (moved < N) {
    const res = (await redis.xreadgroup('GROUP', group, 'raw', 'COUNT', 1000, 'STREAMS', ...streams, ...streams.map(() => '>'))) as [string, [string, string[]][]][] | null
    if (res === null) continue
    const pipe = redis.pipeline()
    for (const [stream, entries] of res) {
      for (const [, fields] of entries) pipe.xadd(`${topic}:out`, '*', 'e', fields[1])
      pipe.xack(stream, group, ...entries.map((e) => e[0]))
      moved += entries.length
    }
    await pipe.exec()
  }
  const ms = performance.now() - t0
  await redis.del(...streams, `${topic}:out`)
  return ms
}

/** The consumers of a group on one stream with entries pending at them (read, not yet acknowledged). */
async function pendingAt(redis: Redis, stream: string, group: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const c of (await redis.xinfo('CONSUMERS', stream, group).catch(() => [])) as unknown[][]) {
    const pending = Number(c[c.indexOf('pending') + 1])
    if (pending > 0) out.set(String(c[c.indexOf('name') + 1]), pending)
  }
  return out
}

/**
 * Handoff latency of stateful members (default lease): from a second member being live to its
 * first record read (after the first member checkpointed and released its partitions), and from
 * that member's SIGKILL to the survivor reading its partitions again (lease expiry, restore of the
 * partitions' checkpoints, claim of what the dead one had pending).
 */
async function handoff(redis: Redis): Promise<{ joinMs: number; deathMs: number }> {
  const topic = `bench_handoff_${tag}`
  const group = `bench_hg_${tag}`
  await createTopic(redis, topic, PARTITIONS)
  await run(pipeline({}, (s: Stream<Flight>) => s), flights, { sink: redisSink(redis, { topic, partitions: PARTITIONS, key: (f) => f.origin, batch: 1000 }) })
  const streams = Array.from({ length: PARTITIONS }, (_, p) => streamKey(topic, p))
  const worker = (name: string) =>
    spawn(process.execPath, [bin, 'run', module, '--redis', process.env.REDIS_URL!, '--from', topic, '--group', group, '--consumer', name,
      '--to', `bench_hout_${tag}`, '--partitions', String(PARTITIONS)], { stdio: 'ignore' })
  const reading = async (name: string, among = streams) => {
    for (;;) {
      for (const s of among) if ((await pendingAt(redis, s, group)).has(name)) return
      await sleep(2)
    }
  }
  // A steady trickle on top of the backlog, so there is always work to hand over (a member that
  // finished the backlog before the other joined would leave nothing to read).
  let producing = true
  const producer = (async () => {
    const sink = redisSink(redis, { topic, partitions: PARTITIONS, key: (f: Flight) => f.origin, batch: 200 })
    for (let i = 0; producing; i++) {
      for (let j = 0; j < 200; j++) await sink.write(flights[(i * 200 + j) % N])
      await sink.flush?.()
      await sleep(20)
    }
  })()
  const w0 = worker('w0')
  await reading('w0')
  const w1 = worker('w1')
  while ((await redis.zscore(`weir:members:${group}`, 'w1')) === null) await sleep(2)
  let t0 = performance.now()
  await reading('w1')
  const joinMs = performance.now() - t0
  await sleep(300)
  const hers: string[] = []
  for (const s of streams) if ((await pendingAt(redis, s, group)).has('w1')) hers.push(s)
  t0 = performance.now()
  w1.kill('SIGKILL')
  for (const s of hers) await reading('w0', [s])
  const deathMs = performance.now() - t0
  producing = false
  await producer
  w0.kill('SIGKILL')
  await new Promise((r) => w0.once('exit', r))
  await redis.del(...streams, ...streams.map((_, p) => streamKey(`bench_hout_${tag}`, p)))
  return { joinMs, deathMs }
}

async function cdc(r: Report): Promise<void> {
  const url = process.env.DATABASE_URL!
  const sql = new pg.Client({ connectionString: url })
  await sql.connect()
  const name = `bench_cdc_${tag}`
  await sql.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v int NOT NULL)`)
  await createCdc(url, { slot: name, publication: name, tables: [name] })
  const rows = new Map<Key, unknown>()
  let seen = 0
  let onSeen: (() => void) | undefined
  const view = pipeline({ name: 'cdcView' }, (s: Stream<RowChange>) => pipe(s as unknown as Stream<Change<Key, unknown>>, table()))
  const stop = new AbortController()
  const running = run(view, pgChanges({ connection: url, slot: name, publication: name, signal: stop.signal }), {
    sink: {
      write(c: Change<Key, unknown>) {
        if (c.op === 'delete') rows.delete(c.key)
        else rows.set(c.key, c.after)
        seen++
        onSeen?.()
      },
    },
  })
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      if (seen >= n) return resolve()
      onSeen = () => {
        if (seen >= n) {
          onSeen = undefined
          resolve()
        }
      }
    })
  const M = 100_000
  // Bulk: one statement of M inserts (one transaction), then M updates in transactions of 1000.
  let t0 = performance.now()
  await sql.query(`INSERT INTO ${name} SELECT g, 0 FROM generate_series(1, ${M}) g`)
  await until(M)
  const insertMs = performance.now() - t0
  t0 = performance.now()
  for (let i = 0; i < M; i += 1000) await sql.query(`UPDATE ${name} SET v = v + 1 WHERE id > ${i} AND id <= ${i + 1000}`)
  await until(2 * M)
  const updateMs = performance.now() - t0
  // Latency: single-row commits, one at a time, until the view has the change.
  const lat: number[] = []
  for (let i = 0; i < 200; i++) {
    const s = performance.now()
    await sql.query(`UPDATE ${name} SET v = v + 1 WHERE id = ${i + 1}`)
    await until(2 * M + i + 1)
    lat.push(performance.now() - s)
  }
  lat.sort((a, b) => a - b)
  stop.abort()
  await running
  await dropCdc(url, { slot: name, publication: name })
  await sql.query(`DROP TABLE ${name}`)
  await sql.end()
  r.figure(`CDC: ${M.toLocaleString('en-US')} inserts in one transaction, commit to view`, (M * 1000) / insertMs, 'changes/s')
  r.figure('CDC: updates in transactions of 1,000 rows, commit to view', (M * 1000) / updateMs, 'changes/s')
  r.figure('CDC: single-row commit to view, p50', lat[lat.length >> 1], 'ms')
  r.figure('CDC: single-row commit to view, p99', lat[Math.floor(lat.length * 0.99)], 'ms')
}

/**
 * Memory while a transaction of `WEIR_BENCH_CDC_ROWS` rows (default 1M) streams through a counting
 * sink: the peak RSS above the process's before the run (sampled every 20 ms). pgChanges holds at
 * most maxBuffered changes of it; it held the whole transaction before (+530 MB for 1M rows).
 */
async function cdcLargeTransaction(r: Report): Promise<void> {
  const url = process.env.DATABASE_URL!
  const rows = Number(process.env.WEIR_BENCH_CDC_ROWS ?? 1_000_000)
  const sql = new pg.Client({ connectionString: url })
  await sql.connect()
  const name = `bench_cdc_big_${tag}`
  await sql.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v int NOT NULL, note text NOT NULL)`)
  await createCdc(url, { slot: name, publication: name, tables: [name] })
  await sql.query(`INSERT INTO ${name} SELECT g, g, 'row ' || g FROM generate_series(1, ${rows}) g`)
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  let seen = 0
  const t0 = performance.now()
  const source = pgChanges({ connection: url, slot: name, publication: name, stopWhenIdleMs: 1000 })
  const { metrics } = await run(pipeline({ name: 'count' }, (s: Stream<RowChange>) => s), source, { sink: { write: () => void seen++ } })
  const ms = performance.now() - t0 - 1000
  clearInterval(sampler)
  await dropCdc(url, { slot: name, publication: name })
  await sql.query(`DROP TABLE ${name}`)
  await sql.end()
  if (seen !== rows) throw new Error(`cdc large transaction: ${seen} changes, expected ${rows}`)
  r.figure(`CDC: a ${rows.toLocaleString('en-US')}-row transaction, changes/s (counting sink)`, (rows * 1000) / ms, 'changes/s')
  r.figure(`CDC: a ${rows.toLocaleString('en-US')}-row transaction, peak RSS above the start`, (peak - before) / 1e6, 'MB')
  r.figure('CDC: most changes held by the source at once (maxBuffered 4096)', metrics.source?.peakBuffered ?? Number.NaN, 'changes')
}

export default async function (r: Report): Promise<void> {
  r.section('distributed: Redis Streams and PostgreSQL CDC (real servers)')
  if (!process.env.REDIS_URL) r.figure('skipped: REDIS_URL not set (eval "$(.ci/services.sh up)")', 0, '')
  else {
    const redis = new Redis(process.env.REDIS_URL)
    const t0 = performance.now()
    const local = await run(hourlyDelays, flights)
    const localMs = performance.now() - t0
    const rawMs = await rawLoop(redis)
    const one = await workersRun(redis, 1)
    const two = await workersRun(redis, 2)
    const three = await workersRun(redis, 3)
    const latency = await handoff(redis)
    redis.disconnect()
    r.figure(`in-process baseline: ${N.toLocaleString('en-US')} events, same pipeline, no Redis`, (N * 1000) / localMs, 'events/s')
    r.figure('redisSink: XADD, pipelined batches of 1000', (N * 1000) / one.produceMs, 'events/s')
    r.figure('raw ioredis XREADGROUP + XADD + XACK loop, 1 process (the ceiling)', (N * 1000) / rawMs, 'events/s')
    r.figure('Redis -> hourly windows -> Redis, 1 member (state per partition)', (N * 1000) / one.ms, 'events/s')
    r.figure('Redis -> hourly windows -> Redis, 2 members', (N * 1000) / two.ms, 'events/s')
    r.figure('Redis -> hourly windows -> Redis, 3 members', (N * 1000) / three.ms, 'events/s')
    r.ratio('2 members vs 1 (speed-up; the machine has 2 cores, Redis shares them)', one.ms, two.ms)
    r.ratio('3 members vs 1', one.ms, three.ms)
    r.ratio('1 member vs the raw loop (cost of the pipeline, fencing, checkpoints)', one.ms, rawMs)
    r.figure('handoff: a member joining, live to its first record (lease 1500 ms)', latency.joinMs, 'ms (goal < 2000)')
    r.figure('handoff: a member SIGKILLed, to the takeover\'s first record', latency.deathMs, 'ms (goal < 2000)')
    r.ratio('1 member vs in-process (cost of the broker round trips)', one.ms, localMs)
    void local
  }
  if (!process.env.DATABASE_URL) r.figure('skipped: DATABASE_URL not set (eval "$(.ci/services.sh up)")', 0, '')
  else {
    // The large transaction first, while the process is small: its figure is memory.
    await cdcLargeTransaction(r)
    await cdc(r)
  }
}
