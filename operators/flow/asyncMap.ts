import { Observable, type OperatorFunction } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import type { AsyncMapSpec } from '../../dsl/flow.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { RunContext } from '../core/context.ts'

/** A queued input in arrival order: a pending call or a watermark waiting for the calls before it. */
interface Slot {
  readonly d: Data<unknown> | undefined
  readonly w: number
  state: 'waiting' | 'running' | 'ok' | 'failed'
  result: unknown
}

/** Ordered async map with bounded concurrency and credit (see `asyncMap` in dsl/flow.ts). */
export function asyncMapOperator(spec: AsyncMapSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  const { f, concurrency } = spec
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      const queue: Slot[] = []
      let running = 0
      let completed = false
      let closed = false

      const flush = () => {
        try {
          while (queue.length > 0) {
            const s = queue[0]
            if (s.d === undefined) {
              queue.shift()
              subscriber.next({ _tag: 'Watermark', time: s.w })
              continue
            }
            if (s.state !== 'ok' && s.state !== 'failed') break
            queue.shift()
            ctx.credit.release()
            if (s.state === 'ok') subscriber.next({ _tag: 'Data', value: s.result, time: s.d.time, key: undefined, pos: s.d.pos })
            else ctx.deadLetter(deadLetter('user', 'asyncMap', s.d.pos, errorMessage(s.result), s.d.value))
          }
          if (completed && queue.length === 0) subscriber.complete()
        } catch (err) {
          subscriber.error(err)
        }
      }
      const startNext = () => {
        for (let i = 0; i < queue.length && running < concurrency; i++) {
          const s = queue[i]
          if (s.state !== 'waiting') continue
          s.state = 'running'
          running++
          Promise.resolve()
            .then(() => f(s.d!.value))
            .then(
              (r) => {
                s.state = 'ok'
                s.result = r
              },
              (e) => {
                s.state = 'failed'
                s.result = e
              },
            )
            .then(() => {
              running--
              if (closed) return
              startNext()
              flush()
            })
        }
      }
      const sub = source.subscribe({
        next(e) {
          if (e._tag === 'Watermark') {
            if (queue.length === 0) subscriber.next(e)
            else queue.push({ d: undefined, w: e.time, state: 'ok', result: undefined })
            return
          }
          ctx.credit.acquire()
          queue.push({ d: e, w: 0, state: 'waiting', result: undefined })
          startNext()
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
        // Give back what unfinished calls held, so a cancelled run does not starve the source.
        for (const s of queue) if (s.d !== undefined) ctx.credit.release()
        queue.length = 0
      }
    })
}
