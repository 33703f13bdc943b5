import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { delay } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import type { Change } from '../dsl/change.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { filter, map } from '../dsl/stages.ts'
import type { Stream } from '../dsl/stream.ts'
import { table } from '../dsl/tables.ts'
import { tableTableJoin } from '../dsl/joins.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import { runPipeline } from '../operators/testing/runPipeline.ts'
import { Aggregate } from '../operators/tables/Aggregate.ts'
import { EventLog, type Logged } from '../operators/tables/EventLog.ts'
import { ReadView } from '../operators/tables/ReadView.ts'
import { Table } from '../operators/tables/Table.ts'

const SEED = 7777

type Write = { key: number; value: number | null }
const toChange = (w: Write, offset: number): Change<number, number> =>
  w.value === null ? { op: 'delete', key: w.key, offset } : { op: 'upsert', key: w.key, after: w.value, offset }

const writes = fc.array(fc.record({ key: fc.integer({ min: 0, max: 5 }), value: fc.option(fc.integer({ min: 0, max: 9 }), { freq: 4 }) }), {
  minLength: 1,
  maxLength: 40,
})

/**
 * At-least-once delivery of offsets `0 .. n-1`: the consumer crashes at random points and resumes
 * from an earlier offset (its last acknowledged one), so runs of records are delivered again.
 */
const redelivery = (n: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), { maxLength: 4 }).map((crashes) => {
    const order: number[] = []
    const at = new Map(crashes.map(([crashAt, resumeFrom]) => [crashAt, Math.min(resumeFrom, crashAt)]))
    for (let i = 0; i < n; i++) {
      order.push(i)
      const resume = at.get(i)
      if (resume !== undefined) {
        at.delete(i)
        for (let j = resume; j <= i; j++) order.push(j)
      }
    }
    return order
  })

const withRedelivery = writes.chain((ws) => fc.tuple(fc.constant(ws), redelivery(ws.length)))

describe('idempotency under redelivery', () => {
  it('a table, an aggregate and a read view end exactly as after one clean delivery', () => {
    fc.assert(
      fc.property(withRedelivery, ([ws, order]) => {
        const clean = Table.from(ws.map(toChange))
        const redelivered = Table.from(order.map((i) => toChange(ws[i], i)))
        expect(redelivered.entries()).toEqual(clean.entries())
        expect(redelivered.offset).toBe(ws.length - 1)

        const logged: Logged<Write>[] = ws.map((event, offset) => ({ offset, event }))
        const sum = (s: number, w: Write) => s * 31 + (w.value ?? -1) - w.key
        const agg = new Aggregate(sum, 0)
        for (const i of order) agg.handle(logged[i])
        expect(agg.state).toBe(Aggregate.rebuild(logged, sum, 0).state)

        const project = (w: Write) => toChange(w, 0)
        const view = new ReadView(project)
        const cleanView = new ReadView(project)
        for (const i of order) view.handle(logged[i])
        for (const r of logged) cleanView.handle(r)
        expect(view.entries()).toEqual(cleanView.entries())
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('the table() stage and a table-table join downstream materialize the same views', async () => {
    type Rec = Write & { side: 0 | 1; offset: number }
    const p = (into: Table<number, number>) =>
      pipeline({ eventTime: (r: Rec) => r.offset }, (s: Stream<Rec>) => {
        const lefts = pipe(s, filter((r) => r.side === 0), map((r) => toChange(r, r.offset)), table({ into }))
        const rights = pipe(s, filter((r) => r.side === 1), map((r) => toChange(r, r.offset)))
        return pipe(lefts, tableTableJoin(rights, { type: 'outer' }))
      })
    await fc.assert(
      fc.asyncProperty(withRedelivery, fc.array(fc.constantFrom<0 | 1>(0, 1), { minLength: 40, maxLength: 40 }), async ([ws, order], sides) => {
        const recs: Rec[] = ws.map((w, offset) => ({ ...w, side: sides[offset], offset }))
        const cleanTable = new Table<number, number>()
        const againTable = new Table<number, number>()
        const clean = await runPipeline(p(cleanTable), recs)
        const again = await runPipeline(p(againTable), order.map((i) => recs[i]))
        expect(againTable.entries()).toEqual(cleanTable.entries())
        const sorted = <V>(t: Table<number, V>) => t.entries().sort((a, b) => a[0] - b[0])
        expect(sorted(Table.from(again.values))).toEqual(sorted(Table.from(clean.values)))
      }),
      { seed: SEED, numRuns: 150 },
    )
  })
})

describe('read-your-writes in virtual time', () => {
  it('waitFor emits exactly when a lagging view applies the write, and the view then shows it', () => {
    fc.assert(
      fc.property(
        fc.record({
          ws: writes,
          gaps: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 40, maxLength: 40 }),
          lags: fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })),
        }),
        ({ ws, gaps, lags }) => {
          const clock = new VirtualClock(0)
          const log = new EventLog<Write>()
          const views = lags.map((lag) => {
            const v = new ReadView((w: Write) => toChange(w, 0), { scheduler: clock })
            v.follow(log.read().pipe(delay(lag, clock)))
            return v
          })
          const seen: string[] = []
          const expected: string[] = []
          let now = 0
          ws.forEach((w, i) => {
            now += gaps[i]
            clock.advanceTo(now)
            const at = log.append(w)
            views.forEach((v, vi) => {
              expected.push(`${vi}:${at}@${now + lags[vi]}=${w.value}`)
              v.waitFor(at).subscribe((applied) => {
                expect(applied).toBeGreaterThanOrEqual(at)
                // The writer reads its own write (or a later one to the same key).
                const later = ws.slice(at + 1, applied + 1).some((x) => x.key === w.key)
                if (!later) expect(v.get(w.key) ?? null).toBe(w.value)
                seen.push(`${vi}:${at}@${clock.now()}=${later ? w.value : (v.get(w.key) ?? null)}`)
              })
            })
          })
          clock.flush()
          expect(seen.sort()).toEqual(expected.sort())
          for (const v of views) expect(v.offset).toBe(ws.length - 1)
        },
      ),
      { seed: SEED, numRuns: 200 },
    )
  })
})
