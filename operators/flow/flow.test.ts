import { describe, expect, it } from 'vitest'
import { Subject, firstValueFrom, from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile, compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { map } from '../../dsl/stages.ts'
import { asyncMap, buffer, microbatch } from '../../dsl/flow.ts'
import { makeContext } from '../core/context.ts'
import type { Data } from '../../dsl/element.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import type { Stream } from '../../dsl/stream.ts'
import { run } from '../../harness/run.ts'
import { VirtualClock } from '../../harness/VirtualClock.ts'

const tick = () => new Promise((r) => setImmediate(r))

/** Opens every waiting async step, turn after turn, until `done` settles; then its value. */
async function openGatesUntil<T>(done: Promise<T>, gates: Array<() => void>): Promise<T> {
  let finished = false
  void done.then(() => (finished = true))
  while (!finished) {
    await tick()
    while (gates.length > 0) gates.shift()!()
  }
  return done
}
const rec = (value: number, pos = value): Data<unknown> => ({ _tag: 'Data', value, time: value, key: undefined, pos })

describe('asyncMap', () => {
  it('keeps input order whatever order the calls finish in, with bounded concurrency', async () => {
    let running = 0
    let peak = 0
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        asyncMap(
          async (n: number) => {
            running++
            peak = Math.max(peak, running)
            await new Promise((r) => setTimeout(r, (5 - n) * 2))
            running--
            return n * 10
          },
          { concurrency: 3 },
        ),
      ),
    )
    const out = await lastValueFrom(from([1, 2, 3, 4, 5]).pipe(compile(p), toArray()))
    expect(out).toEqual([10, 20, 30, 40, 50])
    expect(peak).toBe(3)
  })

  it('holds one unit of credit per event in flight and gives it back when done', async () => {
    const gates: Array<() => void> = []
    const p = pipeline({}, (s: Stream<number>) => pipe(s, asyncMap((n: number) => new Promise<number>((r) => gates.push(() => r(n))), { concurrency: 2 })))
    const ctx = makeContext({ highWaterMark: 4 })
    const input = new Subject<Data<unknown>>()
    const out: unknown[] = []
    input.pipe(compileElements(p, ctx)).subscribe((e) => e._tag === 'Data' && out.push(e.value))
    for (let i = 1; i <= 4; i++) input.next(rec(i))
    expect(ctx.credit.outstanding).toBe(4)
    expect(ctx.credit.available).toBe(false)
    await tick()
    expect(gates.length).toBe(2) // only `concurrency` calls started
    gates[0]()
    await tick()
    expect(out).toEqual([1])
    expect(ctx.credit.outstanding).toBe(3)
    expect(ctx.credit.available).toBe(true)
  })

  it('sends a rejected call to dead letters and goes on', async () => {
    const dead: DeadLetter[] = []
    const p = pipeline({}, (s: Stream<number>) =>
      pipe(
        s,
        asyncMap(async (n: number) => {
          if (n === 2) throw new Error('store down')
          return n
        }),
      ),
    )
    const out = await lastValueFrom(from([1, 2, 3]).pipe(compile(p, { onDeadLetter: (d) => dead.push(d) }), toArray()))
    expect(out).toEqual([1, 3])
    expect(dead).toMatchObject([{ reason: 'user', stage: 'asyncMap', pos: 1, message: 'store down' }])
  })

  it('does not let a watermark overtake the results still in flight', async () => {
    const p = pipeline({ eventTime: (n: number) => n }, (s) => pipe(s, asyncMap(async (n: number) => n)))
    const out = await lastValueFrom(from([rec(1), rec(2)]).pipe(compileElements(p, makeContext()), toArray()))
    expect(out.map((e) => `${e._tag[0]}${e.time}`)).toEqual(['D1', 'W1', 'D2', 'W2', 'WInfinity'])
  })
})

describe('microbatch', () => {
  it('groups by size and flushes the rest at end of input', async () => {
    const p = pipeline({}, (s: Stream<number>) => pipe(s, map((n: number) => n), microbatch(2, '1h')))
    const out = await lastValueFrom(from([1, 2, 3, 4, 5]).pipe(compile(p), toArray()))
    expect(out).toEqual([[1, 2], [3, 4], [5]])
  })

  it('holds watermarks while a block is open and stamps the block with its largest event time', async () => {
    const p = pipeline({ eventTime: (n: number) => n }, (s) => pipe(s, microbatch(2, '1h')))
    const out = await lastValueFrom(from([rec(5), rec(3), rec(9)]).pipe(compileElements(p, makeContext()), toArray()))
    expect(out.map((e) => (e._tag === 'Data' ? `D${e.time}:${JSON.stringify(e.value)}` : `W${e.time}`))).toEqual([
      'D5:[5,3]',
      'W5',
      'D9:[9]',
      'WInfinity',
    ])
  })
})

describe('buffer', () => {
  const slowSink = () => {
    const gates: Array<() => void> = []
    const p = (b: Parameters<typeof buffer>[0]) =>
      pipeline({}, (s: Stream<number>) => pipe(s, buffer(b), asyncMap((n: number) => new Promise<number>((r) => gates.push(() => r(n))))))
    return { gates, p }
  }

  it('drops the oldest waiting event to dead letters when full (dropOldest)', async () => {
    const { gates, p } = slowSink()
    const dead: DeadLetter[] = []
    const ctx = makeContext({ highWaterMark: 1, onDeadLetter: (d) => dead.push(d) })
    const input = new Subject<Data<unknown>>()
    const out: unknown[] = []
    const done = firstValueFrom(input.pipe(compileElements(p({ max: 2, overflow: 'dropOldest' }), ctx), toArray()))
    for (let i = 1; i <= 5; i++) input.next(rec(i))
    // 1 is in the async stage (credit 1/1); 2,3 waited; 4 pushed out 2, 5 pushed out 3.
    expect(dead.map((d) => [d.reason, d.stage, d.pos])).toEqual([
      ['overflow', 'buffer', 2],
      ['overflow', 'buffer', 3],
    ])
    input.complete()
    const all = await openGatesUntil(done, gates)
    for (const e of all) if (e._tag === 'Data') out.push(e.value)
    expect(out).toEqual([1, 4, 5])
  })

  it('dropOldest with watermarks queued between events: the watermarks ahead of the dropped event go on, in order, and make no kept event late', async () => {
    const gates: Array<() => void> = []
    const p = pipeline({ eventTime: (n: number) => n }, (s) =>
      pipe(s, buffer({ max: 2, overflow: 'dropOldest' }), asyncMap((n: number) => new Promise<number>((r) => gates.push(() => r(n))))),
    )
    const dead: DeadLetter[] = []
    const ctx = makeContext({ highWaterMark: 1, onDeadLetter: (d) => dead.push(d) })
    const input = new Subject<Data<unknown>>()
    const done = firstValueFrom(input.pipe(compileElements(p, ctx), toArray()))
    for (let i = 1; i <= 6; i++) input.next(rec(i))
    input.complete()
    const all = await openGatesUntil(done, gates)
    expect(dead.map((d) => d.pos)).toEqual([2, 3, 4])
    expect(all.filter((e) => e._tag === 'Data').map((e) => (e as Data<number>).value)).toEqual([1, 5, 6])
    let wm = Number.NEGATIVE_INFINITY
    for (const e of all)
      if (e._tag === 'Watermark') {
        expect(e.time).toBeGreaterThanOrEqual(wm)
        wm = e.time
      } else expect(e.time).toBeGreaterThanOrEqual(wm)
    expect(wm).toBe(Number.POSITIVE_INFINITY)
  })

  it('drops the newest event when full (dropNewest)', async () => {
    const { p } = slowSink()
    const dead: DeadLetter[] = []
    const ctx = makeContext({ highWaterMark: 1, onDeadLetter: (d) => dead.push(d) })
    const input = new Subject<Data<unknown>>()
    input.pipe(compileElements(p({ max: 1, overflow: 'dropNewest' }), ctx)).subscribe()
    for (let i = 1; i <= 4; i++) input.next(rec(i))
    expect(dead.map((d) => d.pos)).toEqual([3, 4])
  })

  it('pauses the source when full (block) and resumes as the async stage drains', async () => {
    const { gates, p } = slowSink()
    const ctx = makeContext({ highWaterMark: 1 })
    const input = new Subject<Data<unknown>>()
    input.pipe(compileElements(p({ max: 2, overflow: 'block' }), ctx)).subscribe()
    input.next(rec(1))
    expect(ctx.credit.available).toBe(false) // the async stage is full
    input.next(rec(2))
    input.next(rec(3))
    expect(ctx.credit.available).toBe(false)
    await tick()
    gates[0]()
    await tick()
    await tick()
    expect(ctx.credit.outstanding).toBe(1) // 2 moved into the async stage
    expect(ctx.credit.downstreamReady).toBe(false)
  })

  it('fails the run on overflow when asked (error)', async () => {
    const { p } = slowSink()
    const ctx = makeContext({ highWaterMark: 1 })
    const input = new Subject<Data<unknown>>()
    const done = firstValueFrom(input.pipe(compileElements(p({ max: 1, overflow: 'error' }), ctx), toArray()))
    for (let i = 1; i <= 3; i++) input.next(rec(i))
    await expect(done).rejects.toThrow(/buffer: overflow, more than 1 events waiting \(position 3\)/)
  })

  it('rejects a bad configuration at definition time', () => {
    expect(() => buffer({ max: 0, overflow: 'block' })).toThrow(/buffer: max must be a positive integer/)
    expect(() => microbatch(10, '-1s' as never)).toThrow(/microbatch: expected a positive/)
  })
})

describe('time-driven flow on the virtual clock', () => {
  it('microbatch flushes a partial block once maxWait of processing time has passed', async () => {
    const { VirtualClock } = await import('../../harness/VirtualClock.ts')
    const clock = new VirtualClock(0)
    const p = pipeline({}, (s: Stream<number>) => pipe(s, microbatch(100, '10s')))
    const input = new Subject<Data<unknown>>()
    const out: string[] = []
    input.pipe(compileElements(p, makeContext({ scheduler: clock }))).subscribe((e) => {
      if (e._tag === 'Data') out.push(`${clock.now()}:${JSON.stringify(e.value)}`)
    })
    input.next(rec(1))
    clock.advanceTo(4_000)
    input.next(rec(2))
    clock.advanceTo(9_999)
    expect(out).toEqual([])
    clock.advanceTo(10_000)
    expect(out).toEqual(['10000:[1,2]'])
    input.next(rec(3))
    input.complete()
    expect(out).toEqual(['10000:[1,2]', '10000:[3]'])
  })

  it('idleTimeout advances the watermark to now - d when input goes quiet, and again each period', async () => {
    const { VirtualClock } = await import('../../harness/VirtualClock.ts')
    const { boundedOutOfOrder, idleTimeout } = await import('../../dsl/watermarks.ts')
    const clock = new VirtualClock(1_000)
    const p = pipeline({ eventTime: (n: number) => n, watermark: [boundedOutOfOrder(100), idleTimeout('1s')] }, (s: Stream<number>) => s)
    const input = new Subject<Data<unknown>>()
    const marks: number[] = []
    input.pipe(compileElements(p, makeContext({ scheduler: clock }))).subscribe((e) => e._tag === 'Watermark' && marks.push(e.time))
    input.next(rec(1_000))
    expect(marks).toEqual([900])
    clock.advanceTo(1_500)
    input.next(rec(1_200)) // resets the idle period
    clock.advanceTo(2_499)
    expect(marks).toEqual([900, 1_100])
    clock.advanceTo(2_500) // quiet for 1s: W = 2500 - 100
    expect(marks).toEqual([900, 1_100, 2_400])
    clock.advanceTo(3_500)
    expect(marks).toEqual([900, 1_100, 2_400, 3_400])
  })
})

describe('edge cases', () => {
  // A block held by a slow async stage, and an async source asked for a value while the window is full.
  const tick = () => new Promise((r) => setImmediate(r))

  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await tick()
  }

  describe('end-to-end backpressure', () => {
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
})
