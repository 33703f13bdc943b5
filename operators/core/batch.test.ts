import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Observable, from, lastValueFrom, take, toArray } from 'rxjs'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/lib/function.js'
import { compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy, map, merge } from '../../dsl/stages.ts'
import type { Stream } from '../../dsl/stream.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count, sum } from '../../dsl/aggregations.ts'
import type { Batch, Data, Element, SourceRecord } from '../../dsl/element.ts'
import { makeContext } from './context.ts'
import { reusableRecord } from './ingest.ts'

const Ev = t.type({ k: t.string, t: t.number, n: t.number })
type Ev = t.TypeOf<typeof Ev>

/** Windows after stateless stages, with a codec and an event time that can each reject a record. */
const windowed = pipeline(
  { codec: Ev, eventTime: (e: Ev) => (e.n === 7 ? Number.NaN : e.t), watermark: boundedOutOfOrder(5) },
  (s) =>
    pipe(
      s,
      filter((e) => e.n !== 3),
      keyBy((e) => e.k),
      window(tumbling(10)),
      aggregate({ n: count, total: sum((e: Ev) => e.n) }),
      map((r) => [r.key, r.window.start, r.value.n, r.value.total]),
    ),
)

/** Everything a run shows: elements, watermarks included, late events and dead letters, in order. */
const trace = async (records: SourceRecord[]) => {
  const out: string[] = []
  const ctx = makeContext({ onLate: (l) => out.push(`late ${l.pos}`), onDeadLetter: (x) => out.push(`dead ${x.pos} ${x.reason}`) })
  const els = await lastValueFrom(from(records).pipe(compileElements(windowed, ctx), toArray()))
  return [...out, ...els.map((e: Element<unknown>) => (e._tag === 'Data' ? JSON.stringify([e.value, e.time, e.key, e.pos]) : `W${e.time}`))]
}

const raw = fc.oneof(
  { weight: 9, arbitrary: fc.record({ k: fc.constantFrom('a', 'b'), t: fc.integer({ min: 0, max: 80 }), n: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 1, arbitrary: fc.constant<unknown>({ k: 1 }) },
)

/** The same records cut into batches at the given points. */
const batched = (values: readonly unknown[], cuts: readonly number[]): Batch[] => {
  const at = [...new Set(cuts.map((c) => c % (values.length + 1)))].sort((a, b) => a - b)
  const out: Batch[] = []
  let from = 0
  for (const c of [...at, values.length]) {
    if (c > from) out.push({ _tag: 'Batch', values: values.slice(from, c), time: Number.NaN, pos: from })
    from = Math.max(from, c)
  }
  return out
}

describe('batches of source records', () => {
  it('give exactly what the same records one at a time give: data, watermarks, late events, dead letters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(raw, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 6 }), async (values, cuts) => {
        const alone: Data<unknown>[] = values.map((value, pos) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos }))
        expect(await trace(batched(values, cuts))).toEqual(await trace(alone))
      }),
      { seed: 7101, numRuns: 200 },
    )
  })

  it('a reused source record (reusableRecord) gives what fresh records give, chained or through a hub', async () => {
    const branched = pipeline({ codec: Ev, eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(5) }, (s) =>
      pipe(
        s,
        merge(pipe(s, filter(() => false))),
        keyBy((e) => e.k),
        window(tumbling(10)),
        aggregate(count),
      ),
    )
    const feed = (p: typeof windowed | typeof branched, values: readonly unknown[], reuse: boolean) =>
      lastValueFrom(
        new Observable<SourceRecord>((s) => {
          const slot = reusableRecord()
          values.forEach((value, pos) => s.next(reuse ? slot.fill(value, Number.NaN, pos) : { _tag: 'Data', value, time: Number.NaN, key: undefined, pos }))
          s.complete()
        }).pipe(compileElements(p as typeof windowed, makeContext({ onLate: () => undefined, onDeadLetter: () => undefined })), toArray()),
      )
    await fc.assert(
      fc.asyncProperty(fc.array(raw, { maxLength: 50 }), async (values) => {
        for (const p of [windowed, branched]) expect(await feed(p, values, true)).toEqual(await feed(p, values, false))
      }),
      { seed: 7102, numRuns: 100 },
    )
  })

  it('stop being read once the output is unsubscribed, as single records would', async () => {
    const dead: number[] = []
    const p = pipeline({ watermark: boundedOutOfOrder(0) }, (s: Stream<number>) =>
      pipe(
        s,
        map((x: number) => (x % 2 === 0 ? x : (null as unknown as { y: number }).y)),
      ),
    )
    const ctx = makeContext({ onDeadLetter: (x) => dead.push(x.pos) })
    const batch: Batch = { _tag: 'Batch', values: [0, 2, 4, 5, 6, 7], time: Number.NaN, pos: 0 }
    const out = await lastValueFrom(from([batch]).pipe(compileElements(p, ctx, { watermarks: false }), take(2), toArray()))
    expect(out.map((e) => (e._tag === 'Data' ? e.value : e.time))).toEqual([0, 2])
    // The odd values after the cut were never read, so they made no dead letters.
    expect(dead).toEqual([])
  })
})
