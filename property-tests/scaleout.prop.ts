import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import { replay } from '../harness/replay.ts'
import { replayPartitioned, type MembershipChange, type PartitionedOptions } from '../harness/partitioned.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count, sum } from '../dsl/aggregations.ts'
import { tableJoin, windowJoin } from '../dsl/joins.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { dedupe } from '../dsl/dedupe.ts'
import { upsert, type Change } from '../dsl/change.ts'
import { source } from '../dsl/sources.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import type { LogSource } from '../harness/log.ts'

/** One event: an id (repeated by duplicates), a key (the topic's routing key), an event time, a kind. */
interface Ev {
  readonly id: number
  readonly k: string
  readonly t: number
  readonly kind: 'a' | 'b'
  readonly n: number
}

/** Disorder stays within the watermark's bound: no event is late, in one process or in its partition. */
const DISORDER = 30
const LEASE = 50
const opts = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(DISORDER) }

const pipelines: Record<string, AnyPipeline> = {
  'tumbling windows in updates mode': pipeline({ name: 'tumbling', ...opts }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(40), { emit: 'updates' }), aggregate({ n: count, total: sum((e: Ev) => e.n) })),
  ),
  'a window join': pipeline({ name: 'join', ...opts }, (s: Stream<Ev>) => {
    const as = pipe(s, filter((e) => e.kind === 'a'), keyBy((e) => e.k))
    const bs = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
    return pipe(as, windowJoin(bs, { within: 15, type: 'inner' }))
  }),
  'a pattern': pipeline({ name: 'pattern', ...opts }, (s: Stream<Ev>) =>
    pipe(
      s,
      keyBy((e) => e.k),
      match(
        pattern<Ev>()
          .begin('a', (e) => e.kind === 'a')
          .followedBy('b', (e) => e.kind === 'b')
          .within(60),
      ),
    ),
  ),
  // Each 'b' event reads the table its key's 'a' events keep: a table that lost its state answers
  // differently (or not at all, in an inner join).
  'a table (stream-table join)': pipeline({ name: 'table' }, (s: Stream<Ev>) => {
    const changes = pipe(s, filter((e) => e.kind === 'a'), map((e) => upsert(e.k, e.n)))
    const reads = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
    return pipe(reads, tableJoin(changes), map((j) => ({ id: j.left.id, value: j.right })))
  }),
  // Counted after dedupe: a duplicate let through (dedupe's state lost) counts twice.
  'dedupe': pipeline({ name: 'dedupe', ...opts }, (s: Stream<Ev>) =>
    pipe(s, dedupe((e: Ev) => e.id, '1h'), keyBy((e) => e.k), window(tumbling(100), { emit: 'updates' }), aggregate(count)),
  ),
}

/**
 * What an idempotent sink ends with: changes upserted (or deleted) by their key, any other output
 * stored under itself (a set: writing it again changes nothing).
 */
const view = (out: readonly unknown[]): Map<string, string> => {
  const v = new Map<string, string>()
  for (const o of out) {
    const c = o as { op?: unknown; key?: unknown; after?: unknown }
    if (c.op === 'upsert') v.set(JSON.stringify(c.key), JSON.stringify(c.after))
    else if (c.op === 'delete') v.delete(JSON.stringify(c.key))
    else v.set(JSON.stringify(o), '')
  }
  return v
}

/** Logs of 6 keys with disorder within the bound, one record every 10 ms, some events sent twice. */
const logs = fc
  .array(
    fc.record({
      k: fc.constantFrom('u', 'v', 'w', 'x', 'y', 'z'),
      step: fc.integer({ min: 0, max: 12 }),
      jitter: fc.integer({ min: 0, max: DISORDER }),
      kind: fc.constantFrom<'a' | 'b'>('a', 'b'),
      n: fc.integer({ min: 1, max: 9 }),
      again: fc.boolean(),
    }),
    { minLength: 2, maxLength: 120, size: 'max' },
  )
  .map((rows) => {
    let base = 1000
    const events: Ev[] = []
    rows.forEach(({ k, step, jitter, kind, n, again }, id) => {
      base += step
      const e: Ev = { id, k, t: base - jitter, kind, n }
      events.push(e)
      // A duplicate (the same event, sent again a little later): dedupe drops it, the others count it.
      if (again && id % 5 === 0) events.push(e)
    })
    return events.map((event, i) => ({ offset: i, arrival: 1000 + 10 * i, event }))
  })

const NAMES = ['m1', 'm2', 'm3'] as const

/**
 * Membership schedules over a log's span: members start, join, leave, die and pause (some past
 * their lease), and `anchor` joins at some point and stays, so some member finishes the work.
 */
const schedules = (span: number) =>
  fc.record({
    initial: fc.subarray([...NAMES], { minLength: 0 }),
    anchorAt: fc.integer({ min: 900, max: 1000 + span + 100 }),
    changes: fc.array(
      fc.record({
        kind: fc.constantFrom<'join' | 'leave' | 'die' | 'pause'>('join', 'leave', 'die', 'pause'),
        member: fc.constantFrom(...NAMES),
        at: fc.integer({ min: 1000, max: 1000 + span }),
        pause: fc.integer({ min: 0, max: 3 * LEASE }),
      }),
      { maxLength: 10 },
    ),
    partitions: fc.integer({ min: 1, max: 5 }),
    every: fc.integer({ min: 1, max: 20 }),
  })

const cases = logs.chain((log) => fc.tuple(fc.constant(log), schedules(10 * log.length)))

/** Over every case of every pipeline (printed after the suite): what the schedules made happen. */
const seen = { cases: 0, takeovers: 0, redelivered: 0, fenced: 0, checkpoints: 0 }
afterAll(() => {
  console.log(
    `scaleout.prop: ${seen.cases} schedules, ${seen.takeovers} partition takeovers, ${seen.redelivered} records redelivered, ${seen.fenced} zombie writes fenced, ${seen.checkpoints} partition checkpoints`,
  )
})

const RUNS = 40

/** One generated log record (of the default topic). */
interface Row {
  readonly offset: number
  readonly arrival: number
  readonly event: Ev
}

/**
 * The property over one pipeline: partitioned under random schedules, its output ends as the
 * single process's (on an idempotent sink), with nothing pending, nothing late, and the records of
 * topics it does not read counted as skipped. `asLog` turns a generated log into its input.
 */
const endsAsOneProcess = (p: AnyPipeline, key: PartitionedOptions['key'], asLog: (log: readonly Row[]) => LogSource = (log) => log) => async () => {
  const before = { ...seen }
  await fc.assert(
    fc.asyncProperty(cases, async ([generated, s]) => {
      const log = asLog(generated)
      const single = await replay(p, log)
      const schedule: MembershipChange[] = [
        { kind: 'join', group: 'g', member: 'anchor', at: s.anchorAt },
        ...s.changes.map(({ kind, member, at, pause }): MembershipChange =>
          kind === 'pause' ? { kind, group: 'g', member, at, until: at + pause } : { kind, group: 'g', member, at },
        ),
      ]
      const r = await replayPartitioned(p, log, {
        partitions: s.partitions,
        key,
        groups: [{ name: 'g', members: s.initial }],
        schedule,
        leaseMs: LEASE,
        checkpointEvery: s.every,
      })
      const g = r.g
      expect(view(g.out)).toEqual(view(single.out))
      expect(g.pending).toBe(0)
      expect(Object.values(g.members).flatMap((m) => m.late)).toEqual([])
      expect(Object.values(g.members).reduce((n, m) => n + m.metrics.skipped, 0)).toBe(single.metrics.skipped)
      seen.cases++
      seen.takeovers += g.takeovers
      seen.redelivered += g.redelivered
      seen.fenced += g.fenced
      seen.checkpoints += g.checkpoints
    }),
    { seed: 1313, numRuns: RUNS },
  )
  // The schedules did move partitions with state, redeliver, and fence zombies.
  expect(seen.takeovers - before.takeovers).toBeGreaterThan(RUNS)
  expect(seen.redelivered).toBeGreaterThan(before.redelivered)
  expect(seen.fenced).toBeGreaterThan(before.fenced)
}

describe('scale-out with state: any schedule of joins, leaves, deaths and pauses ends with the single-process output', () => {
  for (const [name, p] of Object.entries(pipelines)) it(name, endsAsOneProcess(p, (e) => (e as Ev).k), 60_000)
})

/**
 * Two sources read co-partitioned: partition p of each topic at one instance, each source with its
 * own watermark there, its own position in the partition's checkpoints. Some records are of a topic
 * neither pipeline reads.
 */
describe('scale-out of a pipeline with two sources: the same, co-partitioned', () => {
  const topicOf = (r: Row, a: string, b: string) => (r.event.id % 9 === 4 ? 'views' : r.event.kind === 'a' ? a : b)
  const perSource = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(DISORDER) }

  // The pairs counted per key and window: a source's records applied twice (its position lost in a
  // handoff) count twice, which a set of pairs would hide.
  const joined = pipeline({ name: 'twoTopicJoin', sources: { clicks: source(perSource), searches: source(perSource) } }, ({ clicks, searches }) =>
    pipe(
      clicks,
      keyBy((e) => e.k),
      windowJoin(pipe(searches, keyBy((e) => e.k)), { within: 15, type: 'inner' }),
      window(tumbling(40), { emit: 'updates' }),
      aggregate(count),
    ),
  )
  it('a window join of two topics', endsAsOneProcess(joined, (e) => (e as Ev).k, (log) => log.map((r) => ({ ...r, topic: topicOf(r, 'clicks', 'searches') }))), 60_000)

  // The accounts topic is a changelog, partitioned by its changes' key; payments by their account.
  const enriched = pipeline({ name: 'twoTopicTable', sources: { accounts: source<Change<string, number>>({}), payments: source(perSource) } }, ({ accounts, payments }) =>
    pipe(payments, keyBy((e) => e.k), tableJoin(accounts), map((j) => ({ id: j.left.id, value: j.right }))),
  )
  const asChanges = (log: readonly Row[]) =>
    log.map((r) => {
      const topic = topicOf(r, 'accounts', 'payments')
      return { ...r, topic, event: topic === 'accounts' ? upsert(r.event.k, r.event.n) : r.event }
    })
  it('a stream-table join against a changelog topic', endsAsOneProcess(enriched, { accounts: (c) => (c as Change<string, number>).key, payments: (e) => (e as Ev).k }, asChanges), 60_000)
})
