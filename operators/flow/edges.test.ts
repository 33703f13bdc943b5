/**
 * Edges of event-sourced read views and of end-to-end backpressure (each found by a review and
 * failing before its fix): re-entrant appends, read(from) past the end, Aggregate.restore, a block
 * held by a slow async stage, and an async source asked for a value while the window is full.
 */
import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from '../../dsl/pipeline.ts'
import { map } from '../../dsl/stages.ts'
import { asyncMap, microbatch } from '../../dsl/flow.ts'
import { run } from '../../harness/run.ts'
import { VirtualClock } from '../../harness/VirtualClock.ts'
import type { Stream } from '../../dsl/stream.ts'
import { upsert } from '../../dsl/change.ts'
import { EventLog, type Logged } from '../tables/eventLog.ts'
import { ReadView } from '../tables/readView.ts'
import { Aggregate } from '../tables/aggregate.ts'

const tick = () => new Promise((r) => setImmediate(r))
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await tick()
}

type Dep = { account: string; amount: number }
const balances = () =>
  new ReadView<Dep, string, number>((e, v) => upsert(e.account, (v.get(e.account) ?? 0) + e.amount))

describe('event log and read views: edges', () => {
  it('a view does not lose a record when another view appends re-entrantly while handling it', () => {
    const log = new EventLog<Dep>()
    const a = balances()
    const b = balances()
    a.follow(log.read())
    b.follow(log.read())
    // A process manager on view A: every deposit to 'x' triggers a fee on 'fees'.
    a.changes.subscribe((c) => {
      if (c.key === 'x') log.append({ account: 'fees', amount: 1 })
    })
    log.append({ account: 'x', amount: 10 })
    // Both views follow the same log, so both must hold both records.
    expect(a.entries()).toEqual([
      ['x', 10],
      ['fees', 1],
    ])
    expect(b.get('fees')).toBe(1)
    expect(b.get('x')).toBe(10)
  })

  it('read(from) never delivers a record before `from`, also when `from` is past the current end', () => {
    const log = new EventLog<number>()
    log.append(0)
    const seen: number[] = []
    log.read(3).subscribe((r: Logged<number>) => seen.push(r.offset))
    for (let i = 1; i <= 4; i++) log.append(i)
    expect(seen).toEqual([3, 4])
  })

  it('Aggregate.restore: a reader told the offset is reached sees the restored state, not the old one', () => {
    const agg = new Aggregate((s: number, e: number) => s + e, 0)
    agg.handle({ offset: 0, event: 1 })
    let seen: number | undefined
    agg.waitFor(5).subscribe(() => (seen = agg.state))
    agg.restore({ offset: 5, state: 100 })
    expect(agg.state).toBe(100)
    expect(seen).toBe(100)
  })
})

describe('end-to-end backpressure: edges', () => {
  it('a microbatch block in a slow asyncMap holds credit for its events: the source is not pulled blocks ahead', async () => {
    let pulled = 0
    function* source() {
      for (let i = 0; i < 200; i++) {
        pulled++
        yield i
      }
    }
    let open = false
    const gates: Array<() => void> = []
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        microbatch(10, '1h'),
        asyncMap((b: number[]) => (open ? Promise.resolve(b.length) : new Promise<number>((r) => gates.push(() => r(b.length)))), {
          concurrency: 1,
        }),
      ),
    )
    const done = run(p, source(), { highWaterMark: 4, scheduler: new VirtualClock(0) })
    await ticks(20)
    const pulledWhileStuck = pulled
    open = true
    for (const g of gates) g()
    const r = await done
    expect(r.out.reduce((a, b) => a + b, 0)).toBe(200)
    // Credit doc (operators/core/credit.ts): "An async stage holds one unit per event (a block counts
    // its events)". With 4 units, at most 4 events in flight plus the open block (10) and one read ahead.
    expect(pulledWhileStuck).toBeLessThanOrEqual(4 + 10 + 1)
  })

  it('an async generator source is not asked for a value while the credit window is full', async () => {
    let pulled = 0
    async function* source() {
      for (let i = 0; i < 10; i++) {
        pulled++
        yield i
      }
    }
    const gates: Array<() => void> = []
    const p = pipeline({}, (s: Stream<number>) => pipe(s, map((n: number) => n)))
    const done = run(p, source(), {
      highWaterMark: 3,
      sink: { write: () => new Promise<void>((r) => gates.push(r)) },
    })
    await ticks(10)
    const pulledWhileStuck = pulled
    while (pulled < 10 || gates.length > 0) {
      gates.shift()?.()
      await tick()
    }
    await done
    // run.ts: "Pulled sources ... are read only while the pipeline has credit"; credit.ts: "A source
    // takes the next event only while `available`". 3 writes are pending: the 4th value must wait.
    expect(pulledWhileStuck).toBe(3)
  })
})
