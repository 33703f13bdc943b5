import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import { replay } from '../harness/replay.ts'
import { replayPartitioned, type MembershipChange } from '../harness/partitioned.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count, sum } from '../dsl/aggregations.ts'
import { tableJoin, windowJoin } from '../dsl/joins.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { dedupe } from '../dsl/dedupe.ts'
import { upsert } from '../dsl/change.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'

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

describe('scale-out with state: any schedule of joins, leaves, deaths and pauses ends with the single-process output', () => {
  for (const [name, p] of Object.entries(pipelines)) {
    it(name, async () => {
      const before = { ...seen }
      await fc.assert(
        fc.asyncProperty(cases, async ([log, s]) => {
          const single = await replay(p, log)
          const schedule: MembershipChange[] = [
            { kind: 'join', group: 'g', member: 'anchor', at: s.anchorAt },
            ...s.changes.map(({ kind, member, at, pause }): MembershipChange =>
              kind === 'pause' ? { kind, group: 'g', member, at, until: at + pause } : { kind, group: 'g', member, at },
            ),
          ]
          const r = await replayPartitioned(p, log, {
            partitions: s.partitions,
            key: (e) => (e as Ev).k,
            groups: [{ name: 'g', members: s.initial }],
            schedule,
            leaseMs: LEASE,
            checkpointEvery: s.every,
          })
          const g = r.g
          expect(view(g.out)).toEqual(view(single.out))
          expect(g.pending).toBe(0)
          expect(Object.values(g.members).flatMap((m) => m.late)).toEqual([])
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
    }, 60_000)
  }
})
