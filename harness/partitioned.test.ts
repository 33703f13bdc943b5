import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { replayPartitioned } from './partitioned.ts'
import { replay } from './replay.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import { partitionOf } from '../connectors/partition.ts'

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
    expect(a.partitions).toEqual([0, 2])
    expect(b.partitions).toEqual([1, 3])
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
    expect(r.g.members.a.partitions).toEqual(expect.arrayContaining([0, 3]))
    expect(r.g.members.c.partitions).toEqual(expect.arrayContaining([2]))
    expect([...r.g.members.a.partitions, ...r.g.members.c.partitions].sort()).toEqual([0, 1, 2, 3])
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
})
