import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy } from '../../dsl/stages.ts'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count } from '../../dsl/aggregations.ts'
import type { Stream } from '../../dsl/stream.ts'
import { asyncSink } from '../sinks.ts'
import { avro } from '../encodings/avro.ts'
import { msgpack } from '../encodings/msgpack.ts'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { redisSource } from './source.ts'
import { redisSink } from './sink.ts'
import { runMember } from './member.ts'
import { createTopic, streamKey } from './topic.ts'
import { main, type CliIO } from '../../cli/weir.ts'

interface Ev {
  readonly id: number
  readonly k: string
  readonly t: number
}
const EV = { type: 'record', name: 'Ev', fields: [{ name: 'id', type: 'long' }, { name: 'k', type: 'string' }, { name: 't', type: 'long' }] }
const events = (n: number): Ev[] => Array.from({ length: n }, (_, id) => ({ id, k: `k${id % 4}`, t: id * 10 }))
const echo = pipeline({}, (s: Stream<Ev>) => s)
const plain = (e: Ev) => ({ id: e.id, k: e.k, t: e.t })

describe.skipIf(missing('REDIS_URL'))('Redis entries in a binary encoding (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  const produce = async (topic: string, partitions: number, evs: readonly Ev[], encoding = avro(EV)) => {
    await createTopic(redis, topic, partitions)
    await run(echo, evs, { sink: redisSink(redis, { topic, partitions, key: (e) => e.k, encoding }) })
  }

  it.each([
    ['avro', () => avro(EV)],
    ['msgpack', () => msgpack()],
  ])('redisSink writes %s bytes that redisSource reads back; an entry that does not decode is a dead letter and the run goes on', async (name, encoding) => {
    const topic = unique(`enc-${name}`)
    await produce(topic, 2, events(40), encoding())
    const [, fields] = (await redis.xrangeBuffer(streamKey(topic, 0), '-', '+'))[0]
    expect(fields[0].toString()).toBe('e')
    expect(() => JSON.parse(fields[1].toString())).toThrow()
    expect(events(40)).toContainEqual(plain(encoding().decode(fields[1]) as Ev))
    await redis.xadd(streamKey(topic, 1), '*', 'e', Buffer.from([0xff, 0xfe, 0x01]))
    const { out, deadLetters } = await run(echo, redisSource<Ev>(redis, { topics: [topic], group: unique('g'), consumer: 'c', stopWhenIdleMs: 300, blockMs: 50, heartbeatMs: 50, encoding: encoding() }))
    expect(out.map(plain).sort((a, b) => a.id - b.id)).toEqual(events(40))
    expect(deadLetters).toHaveLength(1)
    expect(deadLetters[0].message).toMatch(new RegExp(`^entry \\d+-\\d+ of ${streamKey(topic, 1)} does not decode as ${name}: `))
  })

  it('entries pending at a consumer that restarts are delivered again, decoded', async () => {
    const topic = unique('enc-redeliver')
    await produce(topic, 1, events(10))
    const options = { topics: [topic], group: unique('g'), consumer: 'c', blockMs: 50, heartbeatMs: 50, encoding: avro(EV) }
    const first = redisSource<Ev>(redis, options)
    let got: readonly { value: Ev }[] = []
    for (let i = 0; i < 20 && got.length === 0; i++) got = (await first.pull(5)) ?? []
    expect(got.map((r) => r.value.id)).toEqual([0, 1, 2, 3, 4])
    // Never acknowledged: the restarted consumer finds them pending at itself and reads them through XCLAIM.
    await first.close()
    const { out } = await run(echo, redisSource<Ev>(redis, { ...options, stopWhenIdleMs: 300 }))
    expect(out.map(plain)).toEqual(events(10))
  })

  it('runMember reads a binary topic into per-partition state', async () => {
    const topic = unique('enc-member')
    await produce(topic, 2, events(40))
    const counts = pipeline({ eventTime: (e: Ev) => e.t }, (s) => pipe(s, keyBy((e) => e.k), window(tumbling(1000)), aggregate(count)))
    const out: unknown[] = []
    await runMember(counts, redis, {
      topics: [topic],
      group: unique('g'),
      consumer: 'm1',
      idleExitMs: 400,
      leaseMs: 600,
      encoding: avro(EV),
      sink: () => asyncSink(async (r) => void out.push(r)),
    })
    expect(out.map((r) => (r as { key: string; value: number }).value).reduce((a, b) => a + b, 0)).toBe(40)
    expect(new Set(out.map((r) => (r as { key: string }).key))).toEqual(new Set(['k0', 'k1', 'k2', 'k3']))
  })

  it('weir run --redis --encoding avro --schema reads the entries as Avro; --encoding without --redis is one line', async () => {
    const topic = unique('enc-cli')
    await produce(topic, 2, events(12))
    const dir = mkdtempSync(join(tmpdir(), 'weir-enc-cli-'))
    try {
      writeFileSync(join(dir, 'ev.avsc'), JSON.stringify(EV))
      const weir = async (argv: string[]) => {
        let stdout = ''
        let stderr = ''
        const io: CliIO = { stdout: { write: (x: string) => (stdout += x) }, stderr: { write: (x: string) => (stderr += x) }, cwd: join(import.meta.dirname, '../..'), env: {} }
        return { code: await main(argv, io), stdout, stderr }
      }
      const base = ['run', 'cli/fixtures/passthrough.ts', '--redis', REDIS_URL!, '--from', topic, '--group', unique('g'), '--consumer', 'c', '--idle-exit', '300']
      const r = await weir([...base, '--encoding', 'avro', '--schema', join(dir, 'ev.avsc')])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Ev).sort((a, b) => a.id - b.id)).toEqual(events(12))
      expect(await weir(['run', 'cli/fixtures/passthrough.ts', '--log', 'x.ndjson', '--encoding', 'avro'])).toMatchObject({
        code: 2,
        stderr: 'weir: --encoding is for --redis runs: a log file names its own encoding (weir convert writes one)\n',
      })
      expect(await weir([...base, '--encoding', 'avro'])).toMatchObject({ code: 2, stderr: 'weir: --encoding avro needs --schema <file.avsc> (the Avro schema of the events)\n' })
      expect((await weir([...base, '--encoding', 'avro', '--schema', join(dir, 'none.avsc')])).stderr).toMatch(/^weir: --encoding avro: avro: cannot read the schema file .*none\.avsc/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
