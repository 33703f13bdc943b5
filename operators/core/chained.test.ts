import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy, map, merge } from '../../dsl/stages.ts'
import { operatorNode, type Stream } from '../../dsl/stream.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { aggregate, session, tumbling, window } from '../../dsl/windows.ts'
import { count, sum } from '../../dsl/aggregations.ts'
import { pattern, match } from '../../dsl/patterns.ts'
import { explain } from '../../dsl/explain.ts'
import { dedupe } from '../../dsl/dedupe.ts'
import { table } from '../../dsl/tables.ts'
import { remove, upsert } from '../../dsl/change.ts'
import { tableJoin, tableTableJoin, windowJoin } from '../../dsl/joins.ts'
import { temporalJoin } from '../../dsl/temporalJoin.ts'
import type { Data, Element } from '../../dsl/element.ts'
import { makeContext } from './context.ts'
import { physicalPlan, plan } from '../../dsl/plan.ts'
import { isChainable, stageKinds } from '../../dsl/interpreters.ts'

type Ev = { k: string; t: number; n: number }

/**
 * The source's events, as a stream no stage after it can chain to: the source read three times, by
 * two merges nested, each extra branch keeping nothing. A stage with several inputs chains only
 * when every reader of the stream its branches start from is one of them, which neither merge is.
 */
const unchainable = (s: Stream<Ev>): Stream<Ev> => pipe(s, merge(pipe(s, filter(() => false))), merge(pipe(s, filter(() => false))))

/** The same stages, chained into the source operator or not, which must change nothing. */
const both = (stages: (s: Stream<Ev>) => Stream<unknown, unknown>) => ({
  chained: pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(5) }, (s: Stream<Ev>) => stages(s)),
  unchained: pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(5) }, (s: Stream<Ev>) => stages(unchainable(s))),
})

const elements = async (p: ReturnType<typeof both>['chained'], evs: readonly Ev[]) => {
  const recs: Data<unknown>[] = evs.map((value, i) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos: i }))
  const out = await lastValueFrom(from(recs).pipe(compileElements(p, makeContext({ onLate: () => undefined })), toArray()))
  return out.map((e: Element<unknown>) => (e._tag === 'Data' ? JSON.stringify([e.value, e.time, e.key, e.pos]) : `W${e.time}`))
}

const evs = fc.array(
  fc.record({ k: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 60 }), n: fc.integer({ min: 0, max: 9 }) }),
  { maxLength: 40 },
)

describe('operator chaining', () => {
  const cases = {
    'keyBy, tumbling window, map': both((s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        window(tumbling(10)),
        aggregate({ n: count, total: sum((e: Ev) => e.n) }),
        map((r) => [r.key, r.window.start, r.value.n, r.value.total]),
      ),
    ),
    'two windows in a row (sessions of tumbling results)': both((s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        window(tumbling(5)),
        aggregate(count),
        keyBy((r) => r.key),
        window(session(12), { emit: 'updates' }),
        aggregate(count),
      ),
    ),
    'dedupe, then a table from the changelog': both((s) =>
      pipe(
        s,
        dedupe((e: Ev) => `${e.k}:${e.n}`, 20),
        map((e) => upsert(e.k, e.n)),
        table(),
      ),
    ),
    // Stages with two inputs whose branches start at one stream run as junctions inside the chain.
    'a window join of two filtered branches': both((s) =>
      pipe(
        s,
        filter((e) => e.n < 5),
        keyBy((e) => e.k),
        windowJoin(pipe(s, filter((e) => e.n >= 5), keyBy((e) => e.k)), { within: 6, type: 'outer' }),
      ),
    ),
    'a table-table join of two changelogs': both((s) =>
      pipe(
        s,
        filter((e) => e.t % 2 === 0),
        map((e) => (e.n === 0 ? remove(e.k) : upsert(e.k, e.n))),
        tableTableJoin(pipe(s, filter((e) => e.t % 2 === 1), map((e) => upsert(e.k, e.t))), { type: 'outer' }),
      ),
    ),
    'a temporal join': both((s) =>
      pipe(
        s,
        filter((e) => e.n < 6),
        keyBy((e) => e.k),
        temporalJoin(pipe(s, filter((e) => e.n >= 6), map((e) => upsert(e.k, e.n))), { type: 'left' }),
      ),
    ),
    'a table join against a changelog': both((s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        tableJoin(pipe(s, filter((e) => e.n >= 6), map((e) => (e.n === 9 ? remove(e.k) : upsert(e.k, e.t)))), { type: 'left' }),
      ),
    ),
    'junctions inside junctions: a merge in a join branch, the join merged with a window': both((s) => {
      const keyed = pipe(s, keyBy((e) => e.k))
      const low = pipe(keyed, map((e) => ({ ...e, n: e.n * 2 })), keyBy((e) => e.k))
      const joined = pipe(
        low,
        filter((e) => e.n < 6),
        merge(pipe(low, filter((e) => e.n > 14))),
        windowJoin(pipe(keyed, filter((e) => e.n % 3 === 0)), { within: 4, type: 'left' }),
        map((j): unknown[] => [j.left?.n, j.right?.t]),
      )
      return pipe(joined, merge(pipe(s, keyBy((e) => e.k), window(tumbling(10)), aggregate(count), map((r): unknown[] => [r.key, r.value]))))
    }),
    'a pattern': both((s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        match(pattern<Ev>().begin('low', (e) => e.n < 3).followedBy('high', (e) => e.n > 6).within(20)),
      ),
    ),
  }

  for (const [name, { chained, unchained }] of Object.entries(cases))
    it(`runs every stage inside the source operator, and none without it: ${name}`, () => {
      expect(plan(chained).slice(1).every((x) => x.chained)).toBe(true)
      expect(plan(unchained).some((x) => x.chained)).toBe(false)
    })

  for (const [name, { chained, unchained }] of Object.entries(cases))
    it(`gives the same elements, watermarks included, as the unchained operators: ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(evs, async (input) => {
          expect(await elements(chained, input)).toEqual(await elements(unchained, input))
        }),
        { seed: 7007, numRuns: 150 },
      )
    })

  it('chains a stage right after the source exactly when its kind has a machine or a link of its own', () => {
    for (const [kind, entry] of Object.entries(stageKinds)) {
      const step = physicalPlan(operatorNode(kind, kind, [{ _tag: 'Source' }], {}), isChainable)
      expect([kind, step._tag]).toEqual([kind, entry.machine === undefined && entry.link === undefined ? 'Operator' : 'Chain'])
    }
  })

  it('registers chained machines for checkpoints, and explain still shows each stage', () => {
    const { chained } = cases['keyBy, tumbling window, map']
    const ctx = makeContext()
    from([]).pipe(compileElements(chained, ctx)).subscribe()
    const { machines } = ctx.machines
    // The window machine and the watermark generator.
    expect(machines.length).toBe(2)
    expect(explain(chained)).toContain('window tumbling 10ms → aggregate { n, total }  <- 2  (chained into 1)')
  })
})
