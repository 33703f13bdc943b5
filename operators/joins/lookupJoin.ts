import { Observable, type OperatorFunction } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import type { LookupJoinSpec } from '../../dsl/joins.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'

const PENDING = 0
const READY = 1
const FAILED = 2

/** An input waiting for its turn: an event (with its lookup's outcome) or a watermark. */
interface Slot {
  readonly d: Data<unknown, unknown> | undefined
  readonly w: number
  state: 0 | 1 | 2
  result: unknown
}

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
      const queue: Slot[] = []
      let head = 0
      /** Slots waiting on each key's lookup in flight (or waiting for a free lookup). */
      const byKey = new Map<Key, Slot[]>()
      const waitingKeys: Key[] = []
      let waitingHead = 0
      let running = 0
      let completed = false
      let closed = false

      const out = (d: Data<unknown, unknown>, right: unknown) => {
        if (right === undefined && inner) return
        subscriber.next({ _tag: 'Data', value: { left: d.value, right }, time: d.time, key: d.key, pos: d.pos })
      }

      const flush = () => {
        while (head < queue.length) {
          const s = queue[head]
          if (s.state === PENDING) break
          queue[head++] = undefined as unknown as Slot
          if (s.d === undefined) subscriber.next({ _tag: 'Watermark', time: s.w })
          else {
            ctx.credit.release()
            if (s.state === READY) out(s.d, s.result)
            else ctx.deadLetter(deadLetter('lookup', 'lookupJoin', s.d.pos, errorMessage(s.result), s.d.value))
          }
        }
        // Compact now and then so the array does not grow with the run.
        if (head === queue.length) {
          queue.length = 0
          head = 0
        } else if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head)
          head = 0
        }
        if (completed && head === queue.length) subscriber.complete()
      }

      const settle = (key: Key, state: 1 | 2, result: unknown) => {
        running--
        if (closed) return
        try {
          if (state === READY && cache) cache.set(key, result, ctx.scheduler.now())
          const slots = byKey.get(key)!
          byKey.delete(key)
          for (const s of slots) {
            s.state = state
            s.result = result
          }
          startWaiting()
          flush()
        } catch (err) {
          subscriber.error(err)
        }
      }

      const start = (key: Key) => {
        running++
        let p: Promise<unknown>
        try {
          p = fetch(key)
        } catch (e) {
          p = Promise.reject(e)
        }
        Promise.resolve(p).then(
          (r) => settle(key, READY, r),
          (e) => settle(key, FAILED, e),
        )
      }

      const startWaiting = () => {
        while (running < concurrency && waitingHead < waitingKeys.length) start(waitingKeys[waitingHead++])
        if (waitingHead === waitingKeys.length) {
          waitingKeys.length = 0
          waitingHead = 0
        }
      }

      const sub = source.subscribe({
        next(e) {
          try {
            if (e._tag === 'Watermark') {
              if (head === queue.length) subscriber.next(e)
              else queue.push({ d: undefined, w: e.time, state: READY, result: undefined })
              return
            }
            const key = e.key as Key
            const hit = cache === undefined ? MISS : cache.get(key, ctx.scheduler.now())
            if (hit !== MISS && head === queue.length) return out(e, hit)
            ctx.credit.acquire()
            const slot: Slot = { d: e, w: 0, state: hit === MISS ? PENDING : READY, result: hit === MISS ? undefined : hit }
            queue.push(slot)
            if (hit !== MISS) return
            const waiting = byKey.get(key)
            if (waiting !== undefined) return void waiting.push(slot)
            byKey.set(key, [slot])
            if (running < concurrency) start(key)
            else waitingKeys.push(key)
          } catch (err) {
            subscriber.error(err)
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          completed = true
          flush()
        },
      })
      return () => {
        closed = true
        sub.unsubscribe()
        // Give back what unfinished events held, so a cancelled run does not starve the source.
        for (let i = head; i < queue.length; i++) if (queue[i].d !== undefined) ctx.credit.release()
        queue.length = 0
        head = 0
      }
    })
}
