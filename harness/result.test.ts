import { describe, expect, it } from 'vitest'
import { from, lastValueFrom, Subject, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { pipeline } from '../dsl/pipeline.ts'
import { map } from '../dsl/stages.ts'
import { compileElements } from '../dsl/compile.ts'
import { deadLetter, type Late } from '../dsl/sides.ts'
import type { Data } from '../dsl/element.ts'
import { FailFastError } from '../operators/core/context.ts'
import { Collector } from './result.ts'
import { replay } from './replay.ts'

const records = (values: unknown[]): Data<unknown>[] =>
  values.map((value, i) => ({ _tag: 'Data', value, time: 1000 + i, key: undefined, pos: i + 1 }))

const aLate: Late = { _tag: 'Late', value: 1, time: 5, key: 'k', pos: 3, watermark: 10, stage: 'window', windows: [] }

describe('Collector', () => {
  it('collects outputs and dead letters of a compiled pipeline and counts them (the docs example)', async () => {
    const p = pipeline({ codec: t.number }, (s) =>
      pipe(
        s,
        map((n) => {
          if (n === 2) throw new Error('no twos')
          return n * 10
        }),
      ),
    )
    const c = new Collector<number>()
    const ctx = c.context()
    from(records([1, 2, 'x', 3])).pipe(compileElements(p, ctx)).subscribe(c)
    c.eventsIn = 4
    await c.done
    const { out, deadLetters, metrics } = c.result()
    expect(out).toEqual([10, 30])
    expect(deadLetters.map((d) => [d.reason, d.stage, d.pos])).toEqual([
      ['user', 'map', 2],
      ['codec', 'source', 3],
    ])
    expect(metrics).toMatchObject({ eventsIn: 4, eventsOut: 2, deadLetters: 2, late: 0 })
    expect(metrics.wallMs).toBeGreaterThanOrEqual(0)
  })

  it('routes late events from the context and reports every side output to its callbacks', () => {
    const seen: string[] = []
    const c = new Collector<number>({ onLate: (l) => seen.push(`late ${l.pos}`), onDeadLetter: (d) => seen.push(`dead ${d.pos}`) })
    const ctx = c.context()
    ctx.late(aLate)
    c.deadLetter(deadLetter('parse', 'source', 9, 'not JSON'))
    expect(seen).toEqual(['late 3', 'dead 9'])
    expect(c.result().metrics).toMatchObject({ late: 1, deadLetters: 1 })
  })

  it('with failFast, a context throws FailFastError instead of collecting', () => {
    const c = new Collector<number>()
    const ctx = c.context({ failFast: true })
    expect(() => ctx.late(aLate)).toThrow(FailFastError)
    expect(c.late).toEqual([])
  })

  it('passes watermarks to onWatermark and streams outputs to onOutput without keeping them', async () => {
    const marks: number[] = []
    const outs: unknown[] = []
    const c = new Collector<unknown>({ keepOutput: false, onOutput: (o) => outs.push(o), onWatermark: (w) => marks.push(w) })
    const p = pipeline({}, (s) => s)
    from(records(['a', 'b'])).pipe(compileElements(p, c.context())).subscribe(c)
    await c.done
    expect(c.out).toEqual([])
    expect(outs).toEqual(['a', 'b'])
    expect(marks).toEqual([1000, 1001, Number.POSITIVE_INFINITY])
    expect(c.result().metrics.eventsOut).toBe(2)
  })

  it('settles once: done rejects with the first error, later signals are ignored', async () => {
    const c = new Collector<unknown>()
    const src = new Subject<Data<unknown>>()
    const p = pipeline({}, (s) => s)
    src.pipe(compileElements(p, c.context())).subscribe(c)
    expect(c.settled).toBe(false)
    src.error(new Error('source broke'))
    c.complete()
    await expect(c.done).rejects.toThrow('source broke')
    expect(c.failed).toBe(true)
    expect((c.failure as Error).message).toBe('source broke')
  })

  it('is usable as a plain observer of any compiled output', async () => {
    const c = new Collector<number>()
    const p = pipeline({ codec: t.number }, (s) => pipe(s, map((n) => n + 1)))
    const viaCollector = from(records([1, 2, 3])).pipe(compileElements(p, c.context()))
    viaCollector.subscribe(c)
    await c.done
    const direct = await lastValueFrom(from(records([1, 2, 3])).pipe(compileElements(p, c.context()), toArray()))
    expect(c.out).toEqual(direct.flatMap((e) => (e._tag === 'Data' ? [e.value] : [])))
  })
})

describe('Collector: side outputs kept in memory (keepSideOutputs)', () => {
  const N = 20_000

  it('keeps the first n of each and counts them all: after N bad lines the samples are still n (bounded), and the callback saw all N', async () => {
    const seen: number[] = []
    const lines = Array.from({ length: N }, (_, i) => `garbage ${i}`)
    const r = await replay(pipeline({}, (s) => s), lines, { keepSideOutputs: 3, onDeadLetter: (d) => seen.push(d.pos) })
    expect(r.deadLetters.map((d) => d.pos)).toEqual([1, 2, 3])
    expect(r.metrics.deadLetters).toBe(N)
    expect(seen).toHaveLength(N)
    expect(seen[N - 1]).toBe(N)
  })

  it('false keeps none, true (the default) keeps all; late events alike', () => {
    for (const [keep, kept] of [[false, 0], [true, 5], [undefined, 5], [2, 2]] as const) {
      const c = new Collector<never>(keep === undefined ? {} : { keepSideOutputs: keep })
      for (let i = 0; i < 5; i++) {
        c.deadLetter(deadLetter('parse', 'source', i, 'x'))
        c.lateEvent(aLate)
      }
      const { deadLetters, late, metrics } = c.result()
      expect([deadLetters.length, late.length, metrics.deadLetters, metrics.late]).toEqual([kept, kept, 5, 5])
    }
  })

  it('refuses a count that is not a whole number', () => {
    expect(() => new Collector({ keepSideOutputs: -1 })).toThrow(/keepSideOutputs must be true, false or a whole number/)
    expect(() => new Collector({ keepSideOutputs: 1.5 })).toThrow(/keepSideOutputs/)
  })
})

describe('Collector: an output refused by onOutput', () => {
  const p = pipeline({}, (s) => s)
  const refuseB = (o: unknown, pos: number) => (o === 'b' ? deadLetter('output', 'output', pos, 'cannot write b', o) : undefined)

  it('is counted as its record\'s dead letter, not as an output, and the run goes on', async () => {
    const c = new Collector<unknown>({ onOutput: refuseB })
    from(records(['a', 'b', 'c'])).pipe(compileElements(p, c.context())).subscribe(c)
    await c.done
    const { out, deadLetters, metrics } = c.result()
    expect(out).toEqual(['a', 'c'])
    expect(deadLetters.map((d) => [d.reason, d.pos, d.message])).toEqual([['output', 2, 'cannot write b']])
    expect(metrics).toMatchObject({ eventsOut: 2, deadLetters: 1 })
  })

  it('fails the run with fail-fast', async () => {
    const c = new Collector<unknown>({ onOutput: refuseB })
    from(records(['a', 'b', 'c'])).pipe(compileElements(p, c.context({ failFast: true }))).subscribe(c)
    await expect(c.done).rejects.toThrow(FailFastError)
    expect(c.out).toEqual(['a'])
  })
})
