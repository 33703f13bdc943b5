import { describe, expectTypeOf, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { pipeline, type Pipeline } from './pipeline.ts'
import { filter, flatMap, keyBy, map, merge, tap } from './stages.ts'
import { asyncMap, microbatch } from './flow.ts'
import type { Key, Stream, Unkeyed } from './stream.ts'

const Click = t.type({ user: t.string, page: t.string, ts: t.number })
type Click = t.TypeOf<typeof Click>

/** A keyed-only stage built the way windows, joins and patterns are. */
const perKey = <K extends Key, A>(s: Stream<A, K>): Stream<[K, A], K> => s as unknown as Stream<[K, A], K>

describe('types carry from source to sink', () => {
  it('infers the source type from the codec and each stage from the one before', () => {
    const p = pipeline({ codec: Click, eventTime: (c) => c.ts }, (s) =>
      pipe(
        s,
        filter((c) => c.page !== '/health'),
        map((c) => ({ user: c.user, len: c.page.length })),
        flatMap((x) => [x.len, x.len * 2]),
        tap((n) => expectTypeOf(n).toEqualTypeOf<number>()),
      ),
    )
    expectTypeOf(p).toEqualTypeOf<Pipeline<Click, number, Unkeyed>>()
  })

  it('narrows with a type-guard filter', () => {
    type Shape = { kind: 'circle'; r: number } | { kind: 'square'; side: number }
    const isCircle = (s: Shape): s is Extract<Shape, { kind: 'circle' }> => s.kind === 'circle'
    const p = pipeline({}, (s: Stream<Shape>) => pipe(s, filter(isCircle), map((c) => c.r)))
    expectTypeOf(p).toEqualTypeOf<Pipeline<Shape, number, Unkeyed>>()
  })

  it('keys a stream with the key type, keeps it through filter and drops it after map', () => {
    pipeline({ codec: Click }, (s) => {
      const keyed = pipe(s, keyBy((c) => c.user))
      expectTypeOf(keyed).toEqualTypeOf<Stream<Click, string>>()
      expectTypeOf(pipe(keyed, filter((c) => c.ts > 0))).toEqualTypeOf<Stream<Click, string>>()
      expectTypeOf(pipe(keyed, map((c) => c.ts))).toEqualTypeOf<Stream<number, Unkeyed>>()
      expectTypeOf(pipe(keyed, microbatch(10, '1s'))).toEqualTypeOf<Stream<Click[], Unkeyed>>()
      expectTypeOf(pipe(keyed, asyncMap(async (c) => c.page))).toEqualTypeOf<Stream<string, Unkeyed>>()
      return keyed
    })
  })

  it('makes misuse a compile error', () => {
    pipeline({ codec: Click }, (s) => {
      // A keyed-only stage on an unkeyed stream:
      // @ts-expect-error Unkeyed is not a Key
      pipe(s, perKey)
      pipe(s, keyBy((c) => c.ts), perKey)
      // Keys are primitives, so state can live in Maps:
      // @ts-expect-error an object is not a Key
      pipe(s, keyBy((c) => ({ user: c.user })))
      // Merging streams of different types:
      // @ts-expect-error number is not Click
      pipe(s, merge(pipe(s, map((c) => c.ts))))
      // A stage that expects another type:
      // @ts-expect-error Click has no `amount`
      pipe(s, map((o: { amount: number }) => o.amount))
      return s
    })
  })
})
