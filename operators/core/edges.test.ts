/**
 * Edges of the core engine (each found by a review and failing before its fix): a stream read by
 * two branches over a cold or one-shot input, unsubscribing from an endless flatMap, a codec that
 * throws, and a thrown value with no string form.
 */
import { describe, expect, it } from 'vitest'
import { from, lastValueFrom, take, toArray } from 'rxjs'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, flatMap, map, merge, tap } from '../../dsl/stages.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import type { Stream } from '../../dsl/stream.ts'
import { Hub } from './Hub.ts'
import { FailFastError } from './context.ts'

/** A stream read by two branches, after a stateless stage (so the source itself is read once). */
const twoBranches = (seen: number[]) =>
  pipeline({}, (s: Stream<number>) => {
    const shared = pipe(
      s,
      tap((x: number) => seen.push(x)),
      map((x: number) => x * 10),
    )
    return pipe(
      pipe(shared, filter((x: number) => x > 10)),
      merge(pipe(shared, map((x: number) => x + 1))),
    )
  })

describe('core engine edges', () => {
  it('a stream read by two branches runs its stages once per event (cold input)', async () => {
    const seen: number[] = []
    const out = await lastValueFrom(from([1, 2, 3]).pipe(compile(twoBranches(seen)), toArray()))
    expect([...out].sort((a, b) => a - b)).toEqual([11, 20, 21, 30, 31])
    // The tap sits on the shared stream: each event passes it once, not once per branch.
    expect(seen).toEqual([1, 2, 3])
  })

  it('a stream read by two branches loses no events from a one-shot input (an iterator)', async () => {
    function* once() {
      yield 1
      yield 2
      yield 3
    }
    const out = await lastValueFrom(from(once()).pipe(compile(twoBranches([])), toArray()))
    expect([...out].sort((a, b) => a - b)).toEqual([11, 20, 21, 30, 31])
  })

  it('unsubscribing stops a flatMap over a long (or endless) generator', async () => {
    let pulled = 0
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        flatMap(function* () {
          // Stands in for `while (true)`: bounded so the test cannot hang.
          for (let i = 0; i < 100_000; i++) {
            pulled++
            yield i
          }
        }),
      ),
    )
    const out = await lastValueFrom(from([1]).pipe(compile(p), take(2), toArray()))
    expect(out).toEqual([0, 1])
    expect(pulled).toBeLessThan(10)
  })

  it('a record whose field getter throws during decoding is a codec dead letter, and the run goes on', async () => {
    const Rec = t.type({ id: t.number })
    const p = pipeline({ codec: Rec }, (s) => pipe(s, map((r) => r.id)))
    const dead: DeadLetter[] = []
    const bad = {
      get id(): number {
        throw new Error('getter')
      },
    }
    const input: unknown[] = [{ id: 1 }, bad, { id: 3 }]
    const out = await lastValueFrom(from(input as { id: number }[]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([1, 3])
    expect(dead.map((d) => [d.stage, d.pos])).toEqual([['source', 1]])
  })

  it('a record nested 6,000 levels deep is a codec dead letter (its failure message overflowed the stack), and the run goes on', async () => {
    const Rec = t.type({ id: t.number, tag: t.string })
    const p = pipeline({ codec: Rec }, (s) => pipe(s, map((r) => r.id)))
    const dead: DeadLetter[] = []
    const deep = JSON.parse('['.repeat(6000) + ']'.repeat(6000)) as unknown
    const input: unknown[] = [{ id: 1, tag: 'a' }, { id: 2, tag: deep }, { id: 3, tag: 'c' }]
    const out = await lastValueFrom(from(input as { id: number; tag: string }[]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([1, 3])
    expect(dead.map((d) => [d.reason, d.stage, d.pos])).toEqual([['codec', 'source', 1]])
    expect(dead[0].message).toMatch(/^the codec rejected it \(its report could not be built: Maximum call stack/)
  })

  it('a user function throwing a value with no string form is a dead letter, not a crash', async () => {
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        map((x: number) => {
          if (x === 2) throw Object.create(null)
          return x
        }),
      ),
    )
    const dead: DeadLetter[] = []
    const out = await lastValueFrom(from([1, 2, 3]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([1, 3])
    expect(dead.map((d) => [d.reason, d.stage, d.pos])).toEqual([['user', 'map', 1]])
  })
})

describe('Hub', () => {
  it('a branch leaving while a value is handed out does not make the next branch miss it', () => {
    const hub = new Hub<number>()
    const seen: string[] = []
    const a = hub.subscribe((x) => {
      seen.push(`a${x}`)
      a.unsubscribe()
    })
    hub.subscribe((x) => seen.push(`b${x}`))
    hub.next(1)
    hub.next(2)
    expect(seen).toEqual(['a1', 'b1', 'b2'])
  })
})

describe('FailFastError', () => {
  it('gives the times of a late event as ISO 8601', () => {
    const late = { _tag: 'Late', stage: 'window', pos: 7, value: {}, key: 'a', time: 978_307_200_000, watermark: 978_310_800_000, windows: [] } as const
    expect(new FailFastError(late).message).toBe('window: late event at position 7 (time 2001-01-01T00:00:00.000Z < watermark 2001-01-01T01:00:00.000Z)')
  })
})
