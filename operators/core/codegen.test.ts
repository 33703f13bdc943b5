import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as t from 'io-ts'
import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { generate } from './codegen.ts'
import { chain, type Cursor } from './fused.ts'
import { statelessLink, type Downstream } from './chained.ts'
import { makeContext } from './context.ts'
import { compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, map } from '../../dsl/stages.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { count, max, mean, sum, type MergeableAggregator } from '../../dsl/aggregations.ts'
import type { Element } from '../../dsl/element.ts'
import type { Node, StatelessNode } from '../../dsl/stream.ts'
import { compileAggregator } from '../windows/aggregator.ts'

// The other generators are held to their general paths beside them: `machineLink` in
// chained.test.ts (chained machines against the same machines as RxJS operators) and
// `windowFastPath` in inOrderPush.test.ts (the in-order path against the machine's own).

describe('generate', () => {
  it('names the generated function weir:<name> in stack traces', () => {
    const f = generate('test.thrower', ['why'], 'return function thrower() { throw new Error(why) }')('on purpose')
    let stack = ''
    try {
      f()
    } catch (e) {
      stack = (e as Error).stack ?? ''
    }
    expect(stack).toContain('weir:test.thrower')
  })
})

type StageDesc = { readonly tag: StatelessNode['_tag']; readonly p: number }
const source: Node = { _tag: 'Source' }

/** User functions that throw, or give a bad key, on some values: every rejection path is taken. */
const nodeOf = ({ tag, p }: StageDesc): StatelessNode => {
  switch (tag) {
    case 'Map':
      return { _tag: 'Map', input: source, f: (x: number) => {
        if (x % 7 === p) throw new Error('map refuses')
        return x * 3 + p
      } }
    case 'Filter':
      return { _tag: 'Filter', input: source, f: (x: number) => x % 3 !== p % 3 }
    case 'KeyBy':
      return { _tag: 'KeyBy', input: source, f: (x: number) => (x % 11 === p ? ({} as unknown as number) : x % 4) }
    case 'Tap':
      return { _tag: 'Tap', input: source, f: (x: number) => {
        if (x % 13 === p) throw new Error('tap refuses')
      } }
    case 'FlatMap':
      return { _tag: 'FlatMap', input: source, f: function* (x: number) {
        for (let i = 0; i < p % 3; i++) {
          if (x % 5 === p && i === 1) throw new Error('part-way')
          yield x + i
        }
      } }
  }
}

/** The stages applied one by one, as the semantics say, with no generated code. */
function plainly(stages: readonly StatelessNode[], values: readonly number[]) {
  const out: [unknown, unknown][] = []
  const dead: [string, number][] = []
  const step = (v: unknown, key: unknown, i: number, pos: number): void => {
    if (i === stages.length) return void out.push([v, key])
    const s = stages[i]
    const name = s._tag.charAt(0).toLowerCase() + s._tag.slice(1)
    let r: unknown
    try {
      r = s.f(v)
    } catch {
      return void dead.push([name, pos])
    }
    if (s._tag === 'Map') step(r, undefined, i + 1, pos)
    else if (s._tag === 'Filter') {
      if (r) step(v, key, i + 1, pos)
    } else if (s._tag === 'KeyBy') {
      if (typeof r === 'string' || typeof r === 'number') step(v, r, i + 1, pos)
      else dead.push(['keyBy', pos])
    } else if (s._tag === 'Tap') step(v, key, i + 1, pos)
    else {
      const it = (r as Iterable<unknown>)[Symbol.iterator]()
      for (;;) {
        let n: IteratorResult<unknown>
        try {
          n = it.next()
        } catch {
          dead.push(['flatMap', pos])
          break
        }
        if (n.done === true) break
        step(n.value, undefined, i + 1, pos)
      }
    }
  }
  values.forEach((v, pos) => step(v, undefined, 0, pos))
  return { out, dead }
}

const stageDescs = fc.array(
  fc.record({ tag: fc.constantFrom<StatelessNode['_tag']>('Map', 'Filter', 'KeyBy', 'Tap', 'FlatMap'), p: fc.integer({ min: 0, max: 6 }) }),
  { maxLength: 6 },
)

describe('fusedChain (fused.ts) against the stages applied one by one', () => {
  it('gives the same values, keys and dead letters', () => {
    fc.assert(
      fc.property(stageDescs, fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 30 }), (descs, values) => {
        const stages = descs.map(nodeOf)
        const dead: [string, number][] = []
        const out: [unknown, unknown][] = []
        const cur: Cursor = { time: 0, key: undefined, pos: 0 }
        const ctx = makeContext({ onDeadLetter: (d) => dead.push([d.stage, d.pos]) })
        const push = chain(stages, cur, ctx, (v) => out.push([v, cur.key]))
        values.forEach((v, pos) => {
          cur.key = undefined
          cur.pos = pos
          push(v)
        })
        expect({ out, dead }).toEqual(plainly(stages, values))
      }),
      { seed: 1414, numRuns: 300 },
    )
  })
})

describe('statelessLink (chained.ts) against the stages applied one by one', () => {
  it('gives the same values, keys and dead letters, and passes time and position on', () => {
    fc.assert(
      fc.property(stageDescs, fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 30 }), (descs, values) => {
        const stages = descs.map(nodeOf)
        const dead: [string, number][] = []
        const out: [unknown, unknown][] = []
        const ctx = makeContext({ onDeadLetter: (d) => dead.push([d.stage, d.pos]) })
        const next: Downstream = {
          data: () => expect.unreachable('a link hands elements on in parts'),
          push: (v, time, key, pos) => {
            expect([time, pos]).toEqual([pos * 10, pos])
            out.push([v, key])
          },
          watermark: () => undefined,
        }
        const link = statelessLink(stages, ctx, next)
        values.forEach((v, pos) => (pos % 2 === 0 ? link.push(v, pos * 10, undefined, pos) : link.data({ _tag: 'Data', value: v, time: pos * 10, key: undefined, pos })))
        expect({ out, dead }).toEqual(plainly(stages, values))
      }),
      { seed: 1415, numRuns: 300 },
    )
  })
})

describe('ingest (ingest.ts) against admission written plainly', () => {
  const Ev = t.type({ t: t.number })
  const d = 5
  const p = pipeline({ codec: Ev, eventTime: (e) => {
    if (e.t === 13) throw new Error('no 13')
    return e.t
  }, watermark: boundedOutOfOrder(d) }, (s) =>
    pipe(
      s,
      map((e) => e.t * 2),
      filter((x) => x % 3 !== 0),
    ),
  )

  /** Decode, event time, the two stages, then the watermark `max time seen - d` when it rises. */
  const admitted = (raws: readonly unknown[]) => {
    const out: unknown[] = []
    const dead: [string, number][] = []
    let maxSeen = Number.NEGATIVE_INFINITY
    let wm = Number.NEGATIVE_INFINITY
    raws.forEach((raw, pos) => {
      if (typeof raw !== 'object' || raw === null || typeof (raw as { t?: unknown }).t !== 'number') return void dead.push(['source', pos])
      const time = (raw as { t: number }).t
      if (time === 13 || !Number.isFinite(time)) return void dead.push(['eventTime', pos])
      const x = time * 2
      if (x % 3 !== 0) out.push({ _tag: 'Data', value: x, time, key: undefined, pos })
      if (time > maxSeen) {
        maxSeen = time
        if (time - d > wm) out.push({ _tag: 'Watermark', time: (wm = time - d) })
      }
    })
    out.push({ _tag: 'Watermark', time: Number.POSITIVE_INFINITY })
    return { out, dead }
  }

  it('gives the same data, watermarks and dead letters', async () => {
    const raw = fc.oneof(
      fc.record({ t: fc.integer({ min: 0, max: 40 }) }),
      fc.constant({ t: 13 }),
      fc.constant({ t: Number.NaN }),
      fc.constant('not an event'),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(raw, { maxLength: 30 }), async (raws) => {
        const dead: [string, number][] = []
        const ctx = makeContext({ onDeadLetter: (x) => dead.push([x.stage, x.pos]) })
        const records = raws.map((value, pos) => ({ _tag: 'Data' as const, value, time: Number.NaN, key: undefined, pos }))
        const out: Element<unknown>[] = await lastValueFrom(from(records).pipe(compileElements(p, ctx), toArray()))
        expect({ out, dead }).toEqual(admitted(raws))
      }),
      { seed: 1415, numRuns: 200 },
    )
  })
})

describe('recordAggregator (aggregator.ts) against each field aggregated alone', () => {
  const picky: MergeableAggregator<number, number, number> = {
    init: () => 0,
    add: (acc, x) => {
      if (x === 13) throw new Error('no 13')
      return acc + x
    },
    merge: (a, b) => a + b,
    result: (a) => a,
  }
  const spec = { n: count, s: sum((x: number) => x), m: max((x: number) => x), avg: mean((x: number) => x), p: picky }

  it('gives the same results, and a refused event changes no field', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 30 }), (xs) => {
        const record = compileAggregator(spec)
        const alone = Object.entries(spec).map(([name, a]) => [name, compileAggregator(a)] as const)
        let acc = record.init()
        const accs = alone.map(([, a]) => a.init())
        for (const x of xs) {
          record.read(x)
          for (const [, a] of alone) a.read(x)
          try {
            acc = record.fold(acc)
          } catch {
            // Refused as a whole: the plain path skips the event in every field too.
            continue
          }
          alone.forEach(([, a], i) => (accs[i] = a.fold(accs[i])))
        }
        expect(record.result(acc)).toEqual(Object.fromEntries(alone.map(([name, a], i) => [name, a.result(accs[i])])))
      }),
      { seed: 1416, numRuns: 200 },
    )
  })
})
