import { Observable, type OperatorFunction } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import type { AsyncMapSpec } from '../../dsl/flow.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { RunContext } from '../core/context.ts'
import { InOrder, type Slot } from '../core/InOrder.ts'
import { stageSubscriber } from '../core/subscriber.ts'
import { Queue } from '../core/Queue.ts'

/** Ordered async map with bounded concurrency and credit (see `asyncMap` in dsl/flow.ts). */
export function asyncMapOperator(spec: AsyncMapSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  const { f, concurrency } = spec
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      const queue = new InOrder(ctx.credit, {
        ok: (d, value) => subscriber.next({ _tag: 'Data', value, time: d.time, key: undefined, pos: d.pos }),
        failed: (d, e) => ctx.deadLetter(deadLetter('user', 'asyncMap', d.pos, errorMessage(e), d.value)),
        watermark: (time) => subscriber.next({ _tag: 'Watermark', time }),
        complete: () => subscriber.complete(),
      })
      /** Queued events whose call has not started yet, in order. */
      const waiting = new Queue<Slot>()
      let running = 0
      let closed = false

      /** One call, started in a microtask and settled into its slot: one async frame per event, no closures. */
      const call = async (s: Slot): Promise<void> => {
        try {
          await undefined
          queue.succeed(s, await f(s.d!.value))
        } catch (e) {
          queue.fail(s, e)
        }
        running--
        if (closed) return
        // Settled outside any subscriber: a throw downstream (fail-fast) must reach the error channel.
        try {
          startNext()
          queue.flush()
        } catch (err) {
          subscriber.error(err)
        }
      }
      const startNext = () => {
        while (running < concurrency && waiting.length > 0) {
          running++
          void call(waiting.shift() as Slot)
        }
      }
      const sub = source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Watermark') return queue.watermark(e.time)
            waiting.push(queue.event(e))
            startNext()
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
