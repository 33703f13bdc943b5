import { Observable, type OperatorFunction } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import type { BufferSpec } from '../../dsl/flow.ts'
import { deadLetter } from '../../dsl/sides.ts'
import { stageSubscriber } from '../core/subscriber.ts'
import type { RunContext } from '../core/context.ts'
import { Queue } from '../core/Queue.ts'

/** An explicit bounded queue before async stages (see `buffer` in dsl/flow.ts). */
export function bufferOperator(spec: BufferSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  const { max, overflow } = spec
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      if (overflow === 'block') ctx.credit.mayPause = true
      const queue = new Queue<Element<unknown>>()
      let dataQueued = 0
      let paused = false
      let draining = false
      let completed = false
      let closed = false

      const setPaused = (p: boolean) => {
        if (p === paused) return
        paused = p
        if (p) ctx.credit.pause()
        else ctx.credit.resume()
      }
      const drain = () => {
        while (queue.length > 0 && (ctx.credit.downstreamReady || queue.peek()!._tag === 'Watermark')) {
          const e = queue.shift() as Element<unknown>
          if (e._tag === 'Data') dataQueued--
          subscriber.next(e)
        }
        if (overflow === 'block') setPaused(dataQueued >= max)
        if (queue.length > 0) waitForCredit()
        else if (completed) subscriber.complete()
      }
      // Async stages after us release credit asynchronously; drain on each release.
      const waitForCredit = () => {
        if (draining) return
        draining = true
        void ctx.credit.changed().then(() => {
          draining = false
          if (closed) return
          try {
            drain()
          } catch (err) {
            subscriber.error(err)
          }
        })
      }
      const sub = source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (queue.length === 0 && (e._tag === 'Watermark' || ctx.credit.downstreamReady)) return subscriber.next(e)
            if (e._tag === 'Data' && dataQueued >= max) {
              if (overflow === 'error') {
                return subscriber.error(new Error(`buffer: overflow, more than ${max} events waiting (position ${e.pos})`))
              }
              if (overflow === 'dropNewest') {
                return ctx.deadLetter(deadLetter('overflow', 'buffer', e.pos, `buffer full (max ${max}), dropped newest`, e.value))
              }
              if (overflow === 'dropOldest') {
                // Watermarks ahead of the oldest event go on now, as `drain` would send them (they
                // need no credit): the oldest event is then at the head.
                while (queue.peek()!._tag === 'Watermark') subscriber.next(queue.shift()!)
                const old = queue.shift() as Extract<Element<unknown>, { _tag: 'Data' }>
                dataQueued--
                ctx.deadLetter(deadLetter('overflow', 'buffer', old.pos, `buffer full (max ${max}), dropped oldest`, old.value))
              }
            }
            queue.push(e)
            if (e._tag === 'Data') dataQueued++
            if (overflow === 'block') setPaused(dataQueued >= max)
            waitForCredit()
          },
          complete: () => {
            completed = true
            if (queue.length === 0) subscriber.complete()
          },
        }),
      )
      return () => {
        closed = true
        setPaused(false)
        sub.unsubscribe()
      }
    })
}
