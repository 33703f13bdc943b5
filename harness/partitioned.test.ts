import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { replayPartitioned } from './partitioned.ts'
import { replay } from './replay.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { source } from '../dsl/sources.ts'
import { windowJoin } from '../dsl/joins.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import { assignPartitions, partitionOf } from '../connectors/partition.ts'
import { formatRecord } from './log.ts'
import { asyncMap } from '../dsl/flow.ts'

interface Ev {
  readonly id: number
  readonly k: string
  readonly t: number
}
const log = Array.from({ length: 400 }, (_, id) => ({ offset: id, arrival: 1000 + id, event: { id, k: `k${(id * 7) % 13}`, t: id * 5 } }))
const key = (e: unknown) => (e as Ev).k
const ids = pipeline({}, (s: Stream<Ev>) => pipe(s, map((e) => e.id)))
const counts = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(50) }, (s: Stream<Ev>) =>
  pipe(s, keyBy((e) => e.k), window(tumbling(200)), aggregate(count)),
)
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const canon = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).sort()

describe('replayPartitioned', () => {
  it('load-balances a group: each member gets exactly the partitions it owns, together every record once', async () => {
    const r = await replayPartitioned(ids, log, { partitions: 4, key, groups: [{ name: 'g', members: ['a', 'b'] }] })
    const { a, b } = r.g.members
    const owners = assignPartitions(4, ['a', 'b'])
    expect(a.partitions).toEqual([0, 1, 2, 3].filter((i) => owners[i] === 'a'))
    expect(b.partitions).toEqual([0, 1, 2, 3].filter((i) => owners[i] === 'b'))
    expect(a.partitions).toHaveLength(2)
    for (const id of a.out) expect(a.partitions).toContain(partitionOf(log[id].event.k, 4))
    for (const id of b.out) expect(b.partitions).toContain(partitionOf(log[id].event.k, 4))
    expect(sorted([...a.out, ...b.out])).toEqual(log.map((r) => r.event.id))
  })

  it('fans out: every group sees every record', async () => {
    const r = await replayPartitioned(ids, log, {
      partitions: 3,
      key,
      groups: [
        { name: 'audit', members: ['x'] },
        { name: 'billing', members: ['a', 'b', 'c'] },
      ],
    })
    expect(sorted(r.audit.out)).toEqual(log.map((r) => r.event.id))
    expect(sorted(r.billing.out)).toEqual(log.map((r) => r.event.id))
  })

  it('keeps per-key state whole: partitioned windows equal a single replay', async () => {
    const single = await replay(counts, log)
    const r = await replayPartitioned(counts, log, { partitions: 4, key, groups: [{ name: 'g', members: ['a', 'b', 'c'] }] })
    expect(canon(r.g.out)).toEqual(canon(single.out))
  })

  it('a stateless member that dies has acknowledged what it processed: the survivors take its partitions, nothing is lost or repeated', async () => {
    const r = await replayPartitioned(ids, log, {
      partitions: 4,
      key,
      groups: [{ name: 'g', members: ['a', 'b', 'c'] }],
      failures: [{ group: 'g', member: 'b', at: 1200 }],
    })
    expect(r.g.members.b.died).toBe(true)
    expect(r.g.redelivered).toBe(0)
    expect(sorted(r.g.out)).toEqual(log.map((r) => r.event.id))
    // Only b's partition moved: a and c keep the ones they had.
    const before = assignPartitions(4, ['a', 'b', 'c'])
    for (const m of ['a', 'c']) expect(r.g.members[m].partitions).toEqual(expect.arrayContaining([0, 1, 2, 3].filter((i) => before[i] === m)))
    expect([...r.g.members.a.partitions, ...r.g.members.c.partitions].sort()).toEqual([0, 1, 2, 3])
    expect(r.g.pending).toBe(0)
  })

  it('a stateful member that dies has its unacknowledged records redelivered: final results equal a clean run', async () => {
    const single = await replay(counts, log)
    const r = await replayPartitioned(counts, log, {
      partitions: 4,
      key,
      groups: [{ name: 'g', members: ['a', 'b'] }],
      failures: [{ group: 'g', member: 'a', at: 1250 }],
    })
    expect(r.g.redelivered).toBeGreaterThan(0)
    // Results a emitted before dying are emitted again by b: an upsert by window gives the clean run.
    const upserted = new Map(r.g.out.map((w) => [JSON.stringify([w.key, w.window]), w]))
    expect(canon([...upserted.values()])).toEqual(canon(single.out))
  })

  it('is deterministic', async () => {
    const opts = { partitions: 4, key, groups: [{ name: 'g', members: ['a', 'b'] }], failures: [{ group: 'g', member: 'b', at: 1300 }] }
    const one = await replayPartitioned(counts, log, opts)
    const two = await replayPartitioned(counts, log, opts)
    expect(JSON.stringify(two.g.out)).toBe(JSON.stringify(one.g.out))
  })

  describe('membership changes (state moves with its partition)', () => {
    const upserted = (out: readonly { key: string; window: unknown }[]) => canon([...new Map(out.map((w) => [JSON.stringify([w.key, w.window]), w])).values()])

    it('a member joining mid-run takes partitions with their checkpointed state: results equal a single replay', async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a'] }],
        schedule: [{ kind: 'join', group: 'g', member: 'b', at: 1150 }],
        checkpointEvery: 7,
      })
      expect(r.g.members.b.partitions).toHaveLength(2)
      // a gave the partitions up cleanly (a checkpoint at the handoff): nothing delivered twice.
      expect(r.g.redelivered).toBe(0)
      expect(r.g.takeovers).toBe(6)
      expect(canon(r.g.out)).toEqual(canon(single.out))
      expect(r.g.pending).toBe(0)
    })

    it('a member leaving checkpoints and releases; its partitions go on elsewhere from there', async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a', 'b'] }],
        schedule: [{ kind: 'leave', group: 'g', member: 'a', at: 1200 }],
      })
      expect(r.g.members.a.partitions).toEqual([])
      expect(r.g.members.b.partitions).toEqual([0, 1, 2, 3])
      expect(r.g.redelivered).toBe(0)
      expect(canon(r.g.out)).toEqual(canon(single.out))
    })

    it("a dead member's partitions wait for its lease to expire, then resume from their checkpoints", async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a', 'b'] }],
        schedule: [{ kind: 'die', group: 'g', member: 'a', at: 1200 }],
        leaseMs: 50,
        checkpointEvery: 10,
      })
      expect(r.g.members.a.died).toBe(true)
      expect(r.g.redelivered).toBeGreaterThan(0)
      expect(upserted(r.g.out)).toEqual(canon(single.out))
      expect(r.g.pending).toBe(0)
    })

    it('a member paused past its lease is fenced when it wakes: its partitions went on elsewhere, nothing it holds is written', async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a', 'b'] }],
        schedule: [{ kind: 'pause', group: 'g', member: 'a', at: 1100, until: 1300 }],
        leaseMs: 50,
        checkpointEvery: 10,
      })
      expect(r.g.fenced).toBe(2)
      expect(r.g.members.a.fenced).toBe(2)
      // Awake again, it is a member like any other: it gets partitions back (from their checkpoints).
      expect(r.g.members.a.partitions).toHaveLength(2)
      expect(upserted(r.g.out)).toEqual(canon(single.out))
      expect(r.g.pending).toBe(0)
    })

    it('a pause shorter than the lease moves nothing: the member reads its backlog when it wakes', async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a', 'b'] }],
        schedule: [{ kind: 'pause', group: 'g', member: 'a', at: 1100, until: 1140 }],
        leaseMs: 50,
      })
      expect(r.g.takeovers).toBe(4)
      expect(r.g.fenced).toBe(0)
      expect(r.g.redelivered).toBe(0)
      expect(canon(r.g.out)).toEqual(canon(single.out))
    })

    it('a rolling restart (each member dies and comes back under its name) ends as a single replay', async () => {
      const single = await replay(counts, log)
      const r = await replayPartitioned(counts, log, {
        partitions: 4,
        key,
        groups: [{ name: 'g', members: ['a', 'b', 'c'] }],
        schedule: ['a', 'b', 'c'].flatMap((member, i) => [
          { kind: 'die' as const, group: 'g', member, at: 1050 + 100 * i },
          { kind: 'join' as const, group: 'g', member, at: 1080 + 100 * i },
        ]),
        leaseMs: 50,
        checkpointEvery: 5,
      })
      expect(upserted(r.g.out)).toEqual(canon(single.out))
      expect(r.g.pending).toBe(0)
      expect(Object.values(r.g.members).every((m) => !m.died)).toBe(true)
    })

    it('refuses a stateful stage keyed by something other than the routing key, naming the fix', async () => {
      const byParity = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(50) }, (s: Stream<Ev>) =>
        pipe(s, keyBy((e) => e.id % 2), window(tumbling(200)), aggregate(count)),
      )
      await expect(replayPartitioned(byParity, log, { partitions: 4, key, groups: [{ name: 'g', members: ['a', 'b'] }] })).rejects.toThrow(
        /keyed by something other than the topic's routing key: key \d+ belongs to partition \d of 4, but came in partition \d/,
      )
      // One partition holds every key: nothing to split, nothing refused.
      const one = await replayPartitioned(byParity, log, { partitions: 1, key, groups: [{ name: 'g', members: ['a', 'b'] }] })
      expect(canon(one.g.out)).toEqual(canon((await replay(byParity, log)).out))
    })
  })
})

describe('edge cases', () => {
  interface KEv {
    readonly id: number
    readonly k: string
  }

  const ids = pipeline({}, (s: Stream<KEv>) => pipe(s, map((e) => e.id)))

  const byK = (e: unknown) => (e as KEv).k

  const twoMembers = [{ name: 'g', members: ['a', 'b'] }]

  describe('replayPartitioned', () => {
    it('sends a malformed log line to dead letters instead of dropping it silently', async () => {
      const lines = [formatRecord({ arrival: 1, event: { id: 1, k: 'a' } }), '{oops', formatRecord({ arrival: 3, event: { id: 3, k: 'b' } })]
      const r = await replayPartitioned(ids, lines, { partitions: 2, key: byK, groups: twoMembers })
      const dead = Object.values(r.g.members).flatMap((m) => m.deadLetters)
      expect(dead.map((d) => [d.reason, d.pos])).toEqual([['parse', 2]])
    })

    it('a routing key function that throws on an event makes a dead letter, not a failed replay', async () => {
      const lines = [
        formatRecord({ arrival: 1, event: { id: 1, k: 'a' } }),
        formatRecord({ arrival: 2, event: null }),
        formatRecord({ arrival: 3, event: { id: 3, k: 'b' } }),
      ]
      const r = await replayPartitioned(ids, lines, { partitions: 2, key: byK, groups: twoMembers })
      expect([...r.g.out].sort()).toEqual([1, 3])
      expect(Object.values(r.g.members).flatMap((m) => m.deadLetters.map((d) => [d.reason, d.pos]))).toEqual([['user', 2]])
    })

    it('waits for async stages: every record comes out', async () => {
      const p = pipeline({}, (s: Stream<KEv>) => pipe(s, asyncMap(async (e: KEv) => e.id)))
      const lines = Array.from({ length: 20 }, (_, id) => formatRecord({ arrival: id, event: { id, k: `k${id % 3}` } }))
      const r = await replayPartitioned(p, lines, { partitions: 2, key: byK, groups: twoMembers })
      expect([...r.g.out].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    })

    it('returns every group, with no output, for a log with no records', async () => {
      const r = await replayPartitioned(ids, [], { partitions: 2, key: byK, groups: twoMembers })
      expect(r.g?.out).toEqual([])
    })

    it("a dead member's redelivered record is not late at the taker: the partition's watermark moves with it", async () => {
      interface E {
        readonly k: string
        readonly t: number
      }
      const counts = pipeline({ eventTime: (e: E) => e.t, watermark: boundedOutOfOrder(50) }, (s: Stream<E>) =>
        pipe(s, keyBy((e) => e.k), window(tumbling(200)), aggregate(count)),
      )
      // Key 'a' sends one early event; key 'b' (the other partition) moves far ahead.
      const log = [
        { arrival: 0, event: { k: 'a', t: 0 } },
        ...Array.from({ length: 10 }, (_, i) => ({ arrival: i + 1, event: { k: 'b', t: 100 * (i + 1) } })),
        { arrival: 20, event: { k: 'b', t: 1100 } },
      ]
      const single = await replay(counts, log)
      const owners = assignPartitions(2, ['m1', 'm2'])
      const ofA = owners[partitionOf('a', 2)]!
      expect(owners[partitionOf('b', 2)]).not.toBe(ofA)
      const r = await replayPartitioned(counts, log, {
        partitions: 2,
        key: (e) => (e as E).k,
        groups: [{ name: 'g', members: ['m1', 'm2'] }],
        failures: [{ group: 'g', member: ofA, at: 15 }],
        leaseMs: 2,
      })
      // a's one event is redelivered to the survivor with a's partition (and its watermark, -50 there,
      // not the survivor's 950): it counts in its window, as in one process.
      expect(r.g.redelivered).toBe(1)
      expect(Object.values(r.g.members).flatMap((m) => m.late)).toEqual([])
      const canon = (xs: readonly unknown[]) => [...new Set(xs.map((x) => JSON.stringify(x)))].sort()
      expect(canon(r.g.out)).toEqual(canon(single.out))
    })
  })
})

describe('replayPartitioned of a pipeline with several sources (co-partitioned)', () => {
  interface Click {
    readonly user: string
    readonly at: number
  }
  interface Search extends Click {
    readonly query: string
  }
  const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5']
  // Searches are slow: each arrives 40 ms of event time after the clicks around it. Every tenth
  // record is of a topic neither source reads.
  const log = Array.from({ length: 300 }, (_, i) => {
    const user = users[Math.floor(i / 3) % users.length]
    if (i % 10 === 9) return { offset: i, arrival: 1000 + i, topic: 'views', event: { user, at: i } }
    if (i % 3 === 0) return { offset: i, arrival: 1000 + i, topic: 'searches', event: { user, at: 10 * i - 40, query: `q${i}` } }
    return { offset: i, arrival: 1000 + i, topic: 'clicks', event: { user, at: 10 * i } }
  })
  // Pairs counted per user and window: a record applied twice counts twice.
  const pairs = pipeline(
    {
      name: 'pairs',
      sources: {
        clicks: source({ eventTime: (c: Click) => c.at }),
        searches: source({ eventTime: (s: Search) => s.at }),
      },
    },
    ({ clicks, searches }) =>
      pipe(
        clicks,
        keyBy((c) => c.user),
        windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 60 }),
        window(tumbling(500)),
        aggregate(count),
      ),
  )
  const byUser = (e: unknown) => (e as Click).user

  it('routes each record to its source by topic; a slow source holds back its partition, nothing is late; other topics are counted as skipped', async () => {
    const single = await replay(pairs, log)
    expect(single.out.length).toBeGreaterThan(0)
    const r = await replayPartitioned(pairs, log, { partitions: 4, key: byUser, groups: [{ name: 'g', members: ['a', 'b', 'c'] }] })
    expect(canon(r.g.out)).toEqual(canon(single.out))
    const members = Object.values(r.g.members)
    expect(members.flatMap((m) => m.late)).toEqual([])
    expect(members.reduce((n, m) => n + m.metrics.skipped, 0)).toBe(30)
    expect(r.g.pending).toBe(0)
  })

  it("a handoff restores each source's position from the partition's checkpoint: nothing is redelivered, nothing applied twice", async () => {
    const single = await replay(pairs, log)
    const r = await replayPartitioned(pairs, log, {
      partitions: 4,
      key: byUser,
      groups: [{ name: 'g', members: ['a', 'b'] }],
      schedule: [
        { kind: 'leave', group: 'g', member: 'a', at: 1100 },
        { kind: 'join', group: 'g', member: 'c', at: 1200 },
      ],
      checkpointEvery: 7,
    })
    expect(r.g.takeovers).toBeGreaterThan(4)
    expect(r.g.redelivered).toBe(0)
    // Not only the same set: each window's count once, as in one process.
    expect(canon(r.g.out)).toEqual(canon(single.out))
  })

  it('a dead member: its partitions resume from their checkpoints, both sources redelivered from there', async () => {
    const single = await replay(pairs, log)
    const r = await replayPartitioned(pairs, log, {
      partitions: 4,
      key: byUser,
      groups: [{ name: 'g', members: ['a', 'b'] }],
      failures: [{ group: 'g', member: 'a', at: 1150 }],
      leaseMs: 20,
      checkpointEvery: 10,
    })
    expect(r.g.redelivered).toBeGreaterThan(0)
    const final = (out: readonly { key: string; window: unknown }[]) => canon([...new Map(out.map((w) => [JSON.stringify([w.key, w.window]), w])).values()])
    expect(final(r.g.out)).toEqual(final(single.out))
    expect(r.g.pending).toBe(0)
  })

  it('takes one routing key per source by name, and refuses a key of no source, a source without a key, or topic', async () => {
    const single = await replay(pairs, log)
    const keys = { clicks: byUser, searches: (e: unknown) => (e as Search).user }
    const r = await replayPartitioned(pairs, log, { partitions: 3, key: keys, groups: [{ name: 'g', members: ['a'] }] })
    expect(canon(r.g.out)).toEqual(canon(single.out))
    const groups = [{ name: 'g', members: ['a'] }]
    await expect(replayPartitioned(pairs, log, { partitions: 2, key: { ...keys, clickz: byUser }, groups })).rejects.toThrow(
      "replayPartitioned: key 'clickz' names no source of this pipeline (its sources: clicks, searches)",
    )
    await expect(replayPartitioned(pairs, log, { partitions: 2, key: { clicks: byUser }, groups })).rejects.toThrow(
      "replayPartitioned: no routing key for source 'searches'; give key: { clicks: (e) => ..., searches: (e) => ... }, or one function for all",
    )
    await expect(replayPartitioned(pairs, log, { partitions: 2, key: byUser, groups, topic: 'clicks' })).rejects.toThrow(
      "replayPartitioned: topic is for a one-source pipeline; 'pairs' reads several sources and routes each record by its topic",
    )
    await expect(replayPartitioned(counts, log, { partitions: 2, key: { clicks: byUser }, groups })).rejects.toThrow(
      'replayPartitioned: key is one function for a one-source pipeline, not one per source',
    )
  })
})
