import { describe, expect, it } from 'vitest'
import { Observable, Subject, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import type { Data } from '../../dsl/element.ts'
import { compileElements } from '../../dsl/compile.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy, map } from '../../dsl/stages.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import { lookupJoin } from '../../dsl/joins.ts'
import { VirtualClock } from '../../harness/VirtualClock.ts'
import { makeContext } from '../core/context.ts'
import { runPipeline } from '../testing/runPipeline.ts'
import { LruTtl, MISS } from './lookupJoin.ts'

type Ev = { user: string; t: number }
const evs = (users: string): Ev[] => [...users].map((user, t) => ({ user, t }))

/** A store whose lookups resolve only when the test says so, in any order. */
const controlledStore = () => {
  const pending: Array<{ key: string; resolve: (v: string | undefined) => void; reject: (e: Error) => void }> = []
  const calls: string[] = []
  const fetch = (key: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      calls.push(key)
      pending.push({ key, resolve, reject })
    })
  return { fetch, pending, calls }
}

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await Promise.resolve()
}

const enrich = (fetch: (k: string) => Promise<string | undefined>, options: Parameters<typeof lookupJoin>[1] = {}) =>
  pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(0) }, (s) =>
    pipe(s, keyBy((e) => e.user), lookupJoin(fetch, options), map((j) => `${j.left.user}=${j.right ?? '-'}`)),
  )

describe('lookupJoin', () => {
  it('keeps input order when lookups finish out of order, and no watermark overtakes a pending lookup', async () => {
    const store = controlledStore()
    const p = enrich(store.fetch, { concurrency: 4 })
    const run = runPipeline(p, evs('abc'))
    await ticks()
    expect(store.calls).toEqual(['a', 'b', 'c'])
    for (const i of [2, 0, 1]) {
      store.pending[i].resolve(store.pending[i].key.toUpperCase())
      await ticks()
    }
    const r = await run
    expect(r.values).toEqual(['a=A', 'b=B', 'c=C'])
    expect(r.elements.map((e) => (e._tag === 'Data' ? 'd' : `w${e.time}`))).toEqual(['d', 'w0', 'd', 'w1', 'd', 'w2', 'wInfinity'])
  })

  it('runs at most `concurrency` lookups at once, and one lookup per key in flight', async () => {
    let inFlight = 0
    let most = 0
    const calls: string[] = []
    const fetch = async (k: string) => {
      calls.push(k)
      most = Math.max(most, ++inFlight)
      await ticks(3)
      inFlight--
      return k
    }
    const r = await runPipeline(enrich(fetch, { concurrency: 2 }), evs('aabbcdeeef'))
    expect(most).toBe(2)
    expect(r.values).toEqual([...'aabbcdeeef'].map((u) => `${u}=${u}`))
    expect(calls.length).toBeLessThan(10)
  })

  it('sends a failed lookup to dead letters with reason lookup, and the run goes on', async () => {
    const fetch = async (k: string) => {
      if (k === 'b') throw new Error('store down')
      return k
    }
    const r = await runPipeline(enrich(fetch, { type: 'left' }), evs('abc'))
    expect(r.values).toEqual(['a=a', 'c=c'])
    expect(r.dead.map((d) => [d.reason, d.stage, d.pos, d.message])).toEqual([['lookup', 'lookupJoin', 1, 'store down']])
  })

  it('inner drops events whose lookup found nothing; left keeps them', async () => {
    const fetch = async (k: string) => (k === 'b' ? undefined : k)
    expect((await runPipeline(enrich(fetch), evs('abc'))).values).toEqual(['a=a', 'c=c'])
    expect((await runPipeline(enrich(fetch, { type: 'left' }), evs('abc'))).values).toEqual(['a=a', 'b=-', 'c=c'])
  })

  it('caches results for ttl of scheduler time, and fetches again after', async () => {
    const clock = new VirtualClock(0)
    const calls: string[] = []
    const fetch = async (k: string) => {
      calls.push(k)
      return `${k}@${clock.now()}`
    }
    const input = new Subject<Data<unknown>>()
    const out: string[] = []
    const done = new Promise<void>((resolve) =>
      input.pipe(compileElements(enrich(fetch, { cache: { max: 10, ttl: '1s' } }), makeContext({ scheduler: clock }))).subscribe({
        next: (e) => void (e._tag === 'Data' && out.push(e.value)),
        complete: resolve,
      }),
    )
    const send = async (at: number, pos: number) => {
      clock.advanceTo(at)
      input.next({ _tag: 'Data', value: { user: 'a', t: pos }, time: Number.NaN, key: undefined, pos })
      await ticks()
    }
    await send(0, 0)
    await send(999, 1)
    await send(1000, 2)
    input.complete()
    await done
    expect(out).toEqual(['a=a@0', 'a=a@0', 'a=a@1000'])
    expect(calls).toEqual(['a', 'a'])
  })

  it('holds one unit of credit per waiting event, so a pulled source stops while the store is slow', async () => {
    const ctx = makeContext({ highWaterMark: 4 })
    let most = 0
    const fetch = async (k: string) => {
      most = Math.max(most, ctx.credit.outstanding)
      await ticks(4)
      return k
    }
    const p = enrich(fetch, { concurrency: 2 })
    const source = new Observable<Data<unknown>>((sub) => {
      void (async () => {
        for (let pos = 0; pos < 50; pos++) {
          await ctx.credit.whenAvailable()
          sub.next({ _tag: 'Data', value: { user: `u${pos}`, t: pos }, time: Number.NaN, key: undefined, pos })
        }
        sub.complete()
      })()
    })
    const out = await lastValueFrom(source.pipe(compileElements(p, ctx), toArray()))
    expect(out.filter((e) => e._tag === 'Data')).toHaveLength(50)
    expect(most).toBeLessThanOrEqual(4)
    expect(most).toBeGreaterThan(1)
    expect(ctx.credit.outstanding).toBe(0)
  })

  it('rejects a bad configuration at definition time', () => {
    const f = async (k: string) => k
    expect(() => lookupJoin(f, { concurrency: 0 })).toThrow(/lookupJoin: concurrency must be a positive integer/)
    expect(() => lookupJoin(f, { cache: { max: 0, ttl: '1s' } })).toThrow(/cache.max/)
  })
})

describe('LruTtl', () => {
  it('evicts the least recently used key beyond max, and expires entries at ttl', () => {
    const c = new LruTtl(2, 100)
    c.set('a', 1, 0)
    c.set('b', 2, 0)
    expect(c.get('a', 10)).toBe(1)
    c.set('c', 3, 10)
    expect(c.get('b', 10)).toBe(MISS)
    expect(c.get('a', 99)).toBe(1)
    expect(c.get('a', 100)).toBe(MISS)
    expect(c.get('c', 50)).toBe(3)
  })
})
