import { Observable, type OperatorFunction } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import type { LookupJoinSpec } from '../../dsl/joins.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import { InOrder, type Slot } from '../core/InOrder.ts'
import { stageSubscriber } from '../core/subscriber.ts'

interface Cached {
  readonly value: unknown
  readonly expires: number
}

/**
 * An LRU cache with a time to live: a Map's insertion order is the recency order (a hit moves the
 * key to the end), so the least recently used key is always the first.
 */
export class LruTtl {
  private readonly map = new Map<Key, Cached>()

  constructor(
    readonly max: number,
    readonly ttl: number,
  ) {}

  get size(): number {
    return this.map.size
  }

  /** The cached value, or `MISS` when absent or older than the ttl at `now`. */
  get(key: Key, now: number): unknown {
    const c = this.map.get(key)
    if (c === undefined) return MISS
    this.map.delete(key)
    if (c.expires <= now) return MISS
    this.map.set(key, c)
    return c.value
  }

  set(key: Key, value: unknown, now: number): void {
    this.map.delete(key)
    this.map.set(key, { value, expires: now + this.ttl })
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!)
  }
}

/** What `LruTtl.get` returns for a miss (a lookup may legitimately cache `undefined`). */
export const MISS: unique symbol = Symbol('miss')

/**
 * Interprets a `LookupJoin` node (see `lookupJoin` in dsl/joins.ts). Inputs queue in arrival order;
 * the head leaves as soon as its lookup is done, so output order is input order and a watermark
 * leaves only after every lookup before it. Concurrent lookups of one key share one `fetch`.
 */
export function lookupJoinOperator(spec: LookupJoinSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  const { fetch, concurrency, type } = spec
  const inner = type === 'inner'
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      const cache = spec.cache ? new LruTtl(spec.cache.max, spec.cache.ttl) : undefined
      const out = (d: Data<unknown, unknown>, right: unknown) => {
        if (right === undefined && inner) return
        subscriber.next({ _tag: 'Data', value: { left: d.value, right }, time: d.time, key: d.key, pos: d.pos })
      }
      const queue = new InOrder(ctx.credit, {
        ok: out,
        failed: (d, e) => ctx.deadLetter(deadLetter('lookup', 'lookupJoin', d.pos, errorMessage(e), d.value)),
        watermark: (time) => subscriber.next({ _tag: 'Watermark', time }),
        complete: () => subscriber.complete(),
      })
      /** Slots waiting on each key's lookup in flight (or waiting for a free lookup). */
      const byKey = new Map<Key, Slot[]>()
      const waitingKeys: Key[] = []
      let waitingHead = 0
      let running = 0
      let closed = false

      const settle = (key: Key, ok: boolean, result: unknown) => {
        running--
        if (closed) return
        try {
          if (ok && cache) cache.set(key, result, ctx.scheduler.now())
          const slots = byKey.get(key)!
          byKey.delete(key)
          for (const s of slots) if (ok) queue.succeed(s, result)
          else queue.fail(s, result)
          startWaiting()
          queue.flush()
        } catch (err) {
          subscriber.error(err)
        }
      }

      /** One fetch, settled for every slot waiting on its key: one async frame per fetch, no closures. */
      const start = async (key: Key): Promise<void> => {
        running++
        let ok = true
        let result: unknown
        try {
          result = await fetch(key)
        } catch (e) {
          ok = false
          result = e
        }
        settle(key, ok, result)
      }

      const startWaiting = () => {
        while (running < concurrency && waitingHead < waitingKeys.length) void start(waitingKeys[waitingHead++])
        if (waitingHead === waitingKeys.length) {
          waitingKeys.length = 0
          waitingHead = 0
        }
      }

      const sub = source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Watermark') return queue.watermark(e.time)
            const key = e.key as Key
            const hit = cache === undefined ? MISS : cache.get(key, ctx.scheduler.now())
            if (hit !== MISS && queue.empty) return out(e, hit)
            const slot = queue.event(e)
            if (hit !== MISS) return queue.succeed(slot, hit)
            const waiting = byKey.get(key)
            if (waiting !== undefined) return void waiting.push(slot)
            byKey.set(key, [slot])
            if (running < concurrency) void start(key)
            else waitingKeys.push(key)
          },
          complete: () => queue.end(),
        }),
      )
      return () => {
        closed = true
        sub.unsubscribe()
        queue.dispose()
      }
    })
}
