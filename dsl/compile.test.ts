import { describe, expect, it } from 'vitest'
import { from, lastValueFrom, toArray } from 'rxjs'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/lib/function.js'
import { compile, compileElements } from './compile.ts'
import { pipeline } from './pipeline.ts'
import { filter, flatMap, keyBy, map, merge, tap } from './stages.ts'
import { boundedOutOfOrder } from './watermarks.ts'
import { makeContext } from '../operators/core/context.ts'
import type { DeadLetter } from './sides.ts'
import type { Data } from './element.ts'
import type { Stream } from './stream.ts'

const Ev = t.type({ id: t.number, ts: t.number, user: t.string })
type Ev = t.TypeOf<typeof Ev>
const evs: Ev[] = [
  { id: 1, ts: 1000, user: 'a' },
  { id: 2, ts: 3000, user: 'b' },
  { id: 3, ts: 2000, user: 'a' },
]

describe('compile', () => {
  it('runs a fused map/filter/flatMap/tap chain over values', async () => {
    const seen: number[] = []
    const p = pipeline({ codec: Ev }, (s) =>
      pipe(
        s,
        map((e) => e.id * 10),
        filter((n) => n !== 20),
        flatMap((n) => [n, n + 1]),
        tap((n) => seen.push(n)),
      ),
    )
    const out = await lastValueFrom(from(evs).pipe(compile(p), toArray()))
    expect(out).toEqual([10, 11, 30, 31])
    expect(seen).toEqual(out)
  })

  it('sends a record failing the codec and a throwing user function to dead letters and goes on', async () => {
    const dead: DeadLetter[] = []
    const p = pipeline({ codec: Ev }, (s) =>
      pipe(
        s,
        map((e) => {
          if (e.id === 2) throw new Error('boom')
          return e.id
        }),
      ),
    )
    const input: unknown[] = [evs[0], { id: 'x' }, evs[1], evs[2]]
    const out = await lastValueFrom(from(input as Ev[]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([1, 3])
    expect(dead.map((d) => [d.reason, d.stage, d.pos])).toEqual([
      ['codec', 'source', 1],
      ['user', 'map', 2],
    ])
    expect(dead[0].message).toContain('id')
    expect(dead[1].message).toBe('boom')
  })

  it('sends an input whose flatMap iterable throws part-way to dead letters, after the values it gave, and goes on', async () => {
    const dead: DeadLetter[] = []
    function* upTo(n: number) {
      for (let i = 0; i < 3; i++) {
        if (n === 20 && i === 2) throw new Error('generator gave up')
        yield n + i
      }
    }
    // Nested, so the inner iterable's failure must leave only its own loop.
    const p = pipeline({}, (s: Stream<number>) => pipe(s, flatMap((n: number) => [n, n * 10]), flatMap(upTo)))
    const out = await lastValueFrom(from([2, 30]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([2, 3, 4, 20, 21, 30, 31, 32, 300, 301, 302])
    expect(dead.map((d) => [d.stage, d.pos, d.input, d.message])).toEqual([['flatMap', 0, 20, 'generator gave up']])
  })

  it('goes on with the other outputs of a flatMap when a later stage throws on one of them', async () => {
    const dead: DeadLetter[] = []
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        flatMap((n) => [n, n + 1, n + 2]),
        keyBy((n) => (n === 11 ? (null as unknown as string) : n)),
        map((n) => {
          if (n === 21) throw new Error(`bad ${n}`)
          return n
        }),
      ),
    )
    const out = await lastValueFrom(from([10, 20]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([10, 12, 20, 22])
    expect(dead.map((d) => [d.stage, d.pos, d.message])).toEqual([
      ['keyBy', 0, 'key must be a string or a number, got object'],
      ['map', 1, 'bad 21'],
    ])
  })

  it('fails fast into the error channel when asked', async () => {
    const p = pipeline({ codec: Ev }, (s) => s)
    await expect(lastValueFrom(from([{ id: 'x' }] as unknown as Ev[]).pipe(compile(p, { failFast: true })))).rejects.toThrow(
      /codec at position 0/,
    )
  })

  it('emits monotone in-band watermarks (max - d) and +Infinity at the end', async () => {
    const p = pipeline({ codec: Ev, eventTime: (e) => e.ts, watermark: boundedOutOfOrder(500) }, (s) =>
      pipe(s, keyBy((e) => e.user)),
    )
    const ctx = makeContext()
    const recs: Data<unknown>[] = evs.map((value, i) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos: i }))
    const out = await lastValueFrom(from(recs).pipe(compileElements(p, ctx), toArray()))
    expect(out.map((e) => (e._tag === 'Data' ? `d${e.time}:${String(e.key)}` : `w${e.time}`))).toEqual([
      'd1000:a',
      'w500',
      'd3000:b',
      'w2500',
      'd2000:a',
      'wInfinity',
    ])
  })

  it('leaves watermarks out of the output when asked, for chained and unchained outputs alike', async () => {
    const recs: Data<unknown>[] = evs.map((value, i) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos: i }))
    const chained = pipeline({ codec: Ev, eventTime: (e) => e.ts }, (s) => pipe(s, keyBy((e) => e.user)))
    const unchained = pipeline({ codec: Ev, eventTime: (e) => e.ts }, (s) => pipe(s, keyBy((e) => e.user), merge(pipe(s, filter(() => false), keyBy((e) => e.user)))))
    for (const p of [chained, unchained]) {
      const all = await lastValueFrom(from(recs).pipe(compileElements(p, makeContext()), toArray()))
      const dataOnly = await lastValueFrom(from(recs).pipe(compileElements(p, makeContext(), { watermarks: false }), toArray()))
      expect(all.some((e) => e._tag === 'Watermark')).toBe(true)
      expect(dataOnly).toEqual(all.filter((e) => e._tag === 'Data'))
    }
  })

  it('merges branches of one source with the minimum watermark, each event once per branch', async () => {
    const p = pipeline({ codec: Ev, eventTime: (e) => e.ts }, (s) => {
      const a = pipe(s, filter((e) => e.user === 'a'))
      const b = pipe(s, filter((e) => e.user === 'b'))
      return pipe(a, merge(b), map((e) => e.id))
    })
    const out = await lastValueFrom(from(evs).pipe(compile(p), toArray()))
    expect(out).toEqual([1, 2, 3])
  })
})
