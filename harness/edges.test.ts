// Edge cases of the run-time harness (run, replay, replayPartitioned, the clock and the log
// format), each found by a review and failing before its fix.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from './run.ts'
import { replay } from './replay.ts'
import { replayPartitioned } from './partitioned.ts'
import { VirtualClock } from './VirtualClock.ts'
import { formatRecord } from './log.ts'
import type { Checkpoint, CheckpointStore } from './checkpoint.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { flatMap, keyBy, map } from '../dsl/stages.ts'
import { asyncMap, microbatch } from '../dsl/flow.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import { fromLog, type PulledRecord, type PulledSource } from '../connectors/sources.ts'
import type { Sink } from '../connectors/sinks.ts'
import { assignPartitions, partitionOf } from '../connectors/partition.ts'

const dir = mkdtempSync(join(tmpdir(), 'weir-edges-'))
const Ev = t.type({ n: t.number })
const double = pipeline({ codec: Ev }, (s) => pipe(s, map((e) => e.n * 2)))

interface KEv {
  readonly id: number
  readonly k: string
}
const ids = pipeline({}, (s: Stream<KEv>) => pipe(s, map((e) => e.id)))
const byK = (e: unknown) => (e as KEv).k
const twoMembers = [{ name: 'g', members: ['a', 'b'] }]

describe('run: sinks', () => {
  it('stops writing to a sink once its write has thrown', async () => {
    let writes = 0
    const sink: Sink<number> = {
      write() {
        writes++
        throw new Error('disk full')
      },
    }
    await expect(run(double, Array.from({ length: 10 }, (_, n) => ({ n })), { sink })).rejects.toThrow('disk full')
    expect(writes).toBe(1)
  })

  it('rejects (does not hang) when an async sink fails while more outputs wait than the credit window holds', async () => {
    const fan = pipeline({}, (s: Stream<number>) => pipe(s, flatMap((x: number) => [x, x, x, x, x])))
    const sink: Sink<number> = {
      async write() {
        await new Promise((r) => setTimeout(r, 1))
        throw new Error('db down')
      },
    }
    const outcome = await Promise.race([
      run(fan, [1, 2, 3, 4], { sink, highWaterMark: 2 }).then(
        () => 'resolved',
        (e: Error) => e.message,
      ),
      new Promise((r) => setTimeout(() => r('still pending after 1 s'), 1000)),
    ])
    expect(outcome).toBe('db down')
  })

  it('closes the sink when the run fails fast', async () => {
    let closed = 0
    const sink: Sink<number> = {
      write() {},
      close() {
        closed++
      },
    }
    await expect(run(double, [{ n: 1 }, { n: 'x' }, { n: 3 }], { sink, failFast: true })).rejects.toThrow(/codec/)
    expect(closed).toBe(1)
  })
})

describe('run: acknowledgement of pulled sources', () => {
  it('does not acknowledge records after the one that failed the run (fail-fast)', async () => {
    const records = [{ n: 1 }, { n: 'bad' }, { n: 3 }, { n: 4 }]
    let served = false
    const acked: unknown[] = []
    const src: PulledSource<unknown> = {
      _tag: 'Pulled',
      async pull(max): Promise<readonly PulledRecord<unknown>[] | undefined> {
        if (served) return undefined
        served = true
        return records.slice(0, max).map((value, i) => ({ value, pos: 0, token: `t${i}` }))
      },
      async ack(tokens) {
        acked.push(...tokens)
      },
      async close() {},
    }
    await expect(run(double, src, { failFast: true })).rejects.toThrow(/codec/)
    // An acknowledgement still queued after the failure is a chain of promises here (this source's
    // ack and the run's involve no timer and no I/O): one macrotask turn runs all of them, on any machine.
    await new Promise((r) => setImmediate(r))
    // Records 3 and 4 never entered the pipeline: acknowledging them loses them for good.
    expect(acked).not.toContain('t2')
    expect(acked).not.toContain('t3')
  })
})

describe('run: checkpoint options', () => {
  it.each([0, Number.NaN, 1.5, -3])('refuses everyEvents %s (NaN made one unbounded batch that ignored credit)', async (everyEvents) => {
    const store: CheckpointStore = { load: async () => undefined, save: async () => undefined }
    await expect(run(double, [{ n: 1 }], { checkpoint: { store, everyEvents } })).rejects.toThrow(/everyEvents must be a positive integer/)
  })
})

describe('run: records a pulled source could not decode', () => {
  it('go to dead letters at their position (marked rejected), while an event that merely looks like a dead letter is data', async () => {
    const records: PulledRecord<unknown>[] = [
      { value: { n: 1 }, pos: 0, token: 't0' },
      { value: undefined, pos: 0, token: 't1', rejected: { _tag: 'DeadLetter', reason: 'parse', stage: 'source', pos: 0, message: 'entry is not JSON' } },
      { value: { _tag: 'DeadLetter', n: 3 }, pos: 0, token: 't2' },
    ]
    let served = false
    const acked: unknown[] = []
    const src: PulledSource<unknown> = {
      _tag: 'Pulled',
      pull: async () => (served ? undefined : ((served = true), records)),
      ack: async (tokens) => void acked.push(...tokens),
      close: async () => {},
    }
    const r = await run(double, src)
    expect(r.out).toEqual([2, 6])
    expect(r.deadLetters.map((d) => [d.reason, d.pos, d.message])).toEqual([['parse', 1, 'entry is not JSON']])
    expect(acked).toEqual(['t0', 't1', 't2'])
  })
})

describe('run: checkpoints', () => {
  it("a checkpoint is not changed by the run after it is saved (microbatch's open block)", async () => {
    // A store that keeps the checkpoint object as given (the interface does not ask for a copy).
    let saved: Checkpoint | undefined
    const store: CheckpointStore = { load: async () => saved, save: async (c) => void (saved = c) }
    const p = pipeline({ name: 'mb' }, (s: Stream<number>) => pipe(s, microbatch(5, '1h')))
    const xs = [0, 1, 2, 3, 4, 5, 6]
    const full = await run(p, xs)
    const crashed = await run(p, xs.slice(0, 4), { checkpoint: { store, everyEvents: 3 } })
    const cp = saved!
    expect(cp.offset).toBe(3)
    const resumed = await run(p, xs, { checkpoint: { store, everyEvents: 3 } })
    expect([...crashed.out.slice(0, cp.outputs), ...resumed.out]).toEqual(full.out)
  })

  it('a malformed log line before the cut is not reported again by the restored run', async () => {
    const lines = ['{"arrival":1,"event":{"n":1}}', 'garbage', ...Array.from({ length: 8 }, (_, i) => `{"arrival":${i + 2},"event":{"n":${i + 2}}}`)]
    const path = join(dir, 'cut.ndjson')
    const head = join(dir, 'cut-head.ndjson')
    writeFileSync(path, lines.join('\n'))
    writeFileSync(head, lines.slice(0, 6).join('\n'))
    const saved: Checkpoint[] = []
    const store: CheckpointStore = { load: async () => saved.at(-1), save: async (c) => void saved.push(JSON.parse(JSON.stringify(c))) }
    const crashed = await run(double, fromLog(head), { checkpoint: { store, everyEvents: 4 } })
    expect(saved.at(-1)!.offset).toBe(4)
    expect(crashed.deadLetters.map((d) => d.pos)).toEqual([2])
    const resumed = await run(double, fromLog(path), { checkpoint: { store, everyEvents: 4 } })
    expect(resumed.deadLetters.map((d) => [d.reason, d.pos])).toEqual([])
    // The malformed line counts in the offset like a record: the cut covers 1, garbage, 2 and 3.
    expect(resumed.metrics.eventsIn).toBe(6)
  })
})

describe('replay: virtual time', () => {
  it('an async stage takes no virtual time: its results reach microbatch at their record arrival, whatever the chunk size', async () => {
    const path = join(dir, 'async.ndjson')
    writeFileSync(path, Array.from({ length: 30 }, (_, i) => formatRecord({ arrival: i * 100, event: i })).join('\n') + '\n')
    const p = pipeline({}, (s: Stream<number>) => pipe(s, asyncMap(async (x: number) => x), microbatch(1000, '50ms')))
    // Records 100 ms apart, maxWait 50 ms: every block holds one event.
    const expected = Array.from({ length: 30 }, (_, i) => [i])
    const a = await replay(p, path)
    const b = await replay(p, path, { chunkSize: 64 })
    expect({ defaultChunks: a.out, smallChunks: b.out }).toEqual({ defaultChunks: expected, smallChunks: expected })
  })
})

describe('VirtualClock', () => {
  it('advanceTo(+Infinity) runs every timer instead of throwing', () => {
    const clock = new VirtualClock(0)
    let fired = 0
    clock.schedule(() => void fired++, 10)
    expect(() => clock.advanceTo(Number.POSITIVE_INFINITY)).not.toThrow()
    expect(fired).toBe(1)
  })
})

describe('log format', () => {
  it('formatRecord refuses a NaN offset, which JSON writes as null and readLog then rejects', () => {
    expect(() => formatRecord({ offset: Number.NaN, arrival: 1, event: 1 })).toThrow(/offset/)
  })
})

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
