import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sourceTopicsOf } from './sourceTopics.ts'
import { main, type CliIO } from './weir.ts'
import { REDIS_URL, missing, unique } from '../connectors/testing/servers.ts'
import { createTopic, streamKey, TOPICS_KEY } from '../connectors/redis/topic.ts'

const root = join(import.meta.dirname, '..')
const TWO = 'cli/fixtures/twoSources.ts'
const names = new Set(['clicks', 'searches'])

async function weir(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: root, env: {} }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}

describe('sourceTopicsOf (--from of a pipeline with several sources)', () => {
  it('maps each source to its topic', () => {
    expect(sourceTopicsOf('clicks=web-clicks,searches=web-*', names)).toEqual({ clicks: 'web-clicks', searches: 'web-*' })
    expect(sourceTopicsOf('a,b', undefined)).toBeUndefined()
  })

  it.each([
    ['clicks,searches', names, /this pipeline reads several sources \(clicks, searches\); map each to its topic: --from clicks=<topic>,searches=<topic>/],
    ['clicks=a', names, /no topic for source 'searches'/],
    ['clicks=a,views=b,searches=c', names, /'views' names no source of this pipeline/],
    ['clicks=a,clicks=b,searches=c', names, /source 'clicks' is given twice/],
    ['clicks=a', undefined, /maps sources to topics, but this pipeline reads one source/],
  ])('refuses --from %s with one line', (from, n, message) => {
    expect(() => sourceTopicsOf(from, n)).toThrow(message)
  })
})

describe('weir run of a pipeline with several sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sources-cli-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('--log routes each record to the source its topic names; another topic is a dead letter with its line', async () => {
    const log = join(dir, 'log.ndjson')
    const lines = [
      { arrival: 1, topic: 'clicks', event: { user: 'u', at: 1 } },
      { arrival: 2, topic: 'searches', event: { user: 'u', at: 2, query: 'q' } },
      { arrival: 3, topic: 'views', event: { user: 'u', at: 3 } },
    ]
    writeFileSync(log, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const r = await weir(['run', TWO, '--log', log])
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ click: 'u' }, { search: 'q' }])
    expect(r.stderr).toMatch(/^weir: dead letter \(topic\) in source at offset 3: topic "views" names no source of this pipeline \(its sources: clicks, searches\)$/m)
  })
})

describe.skipIf(missing('REDIS_URL'))('weir run --redis of a pipeline with several sources (real server)', () => {
  let redis: Redis
  const topics: string[] = []
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(async () => {
    for (const topic of topics) {
      await redis.del(streamKey(topic, 0))
      await redis.hdel(TOPICS_KEY, topic)
    }
    redis.disconnect()
  })

  const topicWith = async (entries: unknown[]) => {
    const topic = unique('sources')
    topics.push(topic)
    await createTopic(redis, topic, 1)
    for (const e of entries) await redis.xadd(streamKey(topic, 0), '*', 'e', JSON.stringify(e))
    return topic
  }

  it('--from clicks=<topic>,searches=<topic> reads each source from its topic and acknowledges every entry', async () => {
    const clicks = await topicWith([{ user: 'a', at: 1 }, { user: 'b', at: 2 }])
    const searches = await topicWith([{ user: 'a', at: 1, query: 'q' }])
    const group = unique('g')
    const r = await weir(['run', TWO, '--redis', REDIS_URL!, '--from', `clicks=${clicks},searches=${searches}`, '--group', group, '--consumer', 'c1', '--idle-exit', '200'])
    expect(r.stderr).toMatch(/3 events in, 3 out/)
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([{ click: 'a' }, { click: 'b' }, { search: 'q' }])
    for (const t of [clicks, searches]) expect(Number(((await redis.xpending(streamKey(t, 0), group)) as [number])[0])).toBe(0)
    await redis.del(`weir:members:${group}`, `weir:idle:${group}`)
  })

  it('refuses a stateful pipeline with several sources with one line, exit 2', async () => {
    const r = await weir(['run', 'examples/flightAirportsTwoSources.ts', '--redis', REDIS_URL!, '--from', 'flights=f,airport-changes=c', '--group', unique('g'), '--consumer', 'c1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("weir: run --redis of a pipeline with several sources takes stateless pipelines only, without --checkpoint (flightAirportsTwoSources keeps state); replay a recorded log with --log instead\n")
  })
})
