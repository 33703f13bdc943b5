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
import { upsert } from '../../dsl/change.ts'
import type { Data, Element } from '../../dsl/element.ts'
import { makeContext } from './context.ts'
import { physicalPlan } from '../../dsl/plan.ts'
import { isChainable, stageKinds } from '../../dsl/interpreters.ts'

type Ev = { k: string; t: number; n: number }

/**
 * The same stages, chained into the source operator or not: reading the source a second time (a
 * branch that keeps nothing, merged back) stops `compile` from chaining, and must change nothing.
 */
const both = (stages: (s: Stream<Ev>) => Stream<unknown, unknown>) => ({
  chained: pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(5) }, (s: Stream<Ev>) => stages(s)),
  unchained: pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(5) }, (s: Stream<Ev>) =>
    stages(pipe(s, merge(pipe(s, filter(() => false))))),
  ),
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
    'a pattern': both((s) =>
      pipe(
        s,
        keyBy((e) => e.k),
        match(pattern<Ev>().begin('low', (e) => e.n < 3).followedBy('high', (e) => e.n > 6).within(20)),
      ),
    ),
  }

  for (const [name, { chained, unchained }] of Object.entries(cases))
    it(`gives the same elements, watermarks included, as the unchained operators: ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(evs, async (input) => {
          expect(await elements(chained, input)).toEqual(await elements(unchained, input))
        }),
        { seed: 7007, numRuns: 150 },
      )
    })

  it('chains a stage right after the source exactly when its kind has a machine', () => {
    for (const [kind, entry] of Object.entries(stageKinds)) {
      const step = physicalPlan(operatorNode(kind, kind, [{ _tag: 'Source' }], {}), isChainable)
      expect([kind, step._tag]).toEqual([kind, entry.machine === undefined ? 'Operator' : 'Chain'])
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
