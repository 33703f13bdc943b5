import { Observable } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import { registerMachine, type RunContext } from '../core/context.ts'
import { MinWatermark } from '../core/MinWatermark.ts'
import { stageSubscriber } from '../core/subscriber.ts'

/** A two-input stateful machine: data from either side, and advances of the minimum watermark. */
export interface Machine2<L, R> {
  left(d: Data<L, unknown>): void
  right(d: Data<R, unknown>): void
  /** Called when the minimum of both inputs' watermarks advances; `+Infinity` is end of input. */
  watermark(w: number): void
  dispose?(): void
  snapshot?(): unknown
  restore?(state: unknown): void
}

/**
 * Runs a two-input machine over two element streams: feeds each side's data, calls `watermark`
 * when the minimum of both inputs' watermarks advances, then forwards `outputWatermark(min)`
 * (a join holding results back passes a function that lags), so results precede the watermark that
 * released them. Completes when both inputs have completed.
 */
export function fromMachine2<L, R, O>(
  ctx: RunContext,
  left: Observable<Element<L, unknown>>,
  right: Observable<Element<R, unknown>>,
  make: (emit: (d: Data<O, unknown>) => void) => Machine2<L, R>,
  outputWatermark: (w: number) => number = (w) => w,
): Observable<Element<O, unknown>> {
  return new Observable<Element<O, unknown>>((subscriber) => {
    const machine = make((d) => subscriber.next(d))
    registerMachine(ctx, machine)
    const marks = new MinWatermark(2)
    let forwarded = Number.NEGATIVE_INFINITY
    let open = 2
    const side = <T>(input: Observable<Element<T, unknown>>, i: 0 | 1, data: (d: Data<T, unknown>) => void) =>
      input.subscribe(
        stageSubscriber<Element<T, unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Data') return data(e)
            const w = marks.advance(i, e.time)
            if (w === undefined) return
            machine.watermark(w)
            const out = outputWatermark(w)
            if (out > forwarded) {
              forwarded = out
              subscriber.next({ _tag: 'Watermark', time: out })
            }
          },
          complete: () => {
            if (--open === 0) subscriber.complete()
          },
        }),
      )
    const subL = side(left, 0, (d) => machine.left(d))
    const subR = side(right, 1, (d) => machine.right(d))
    return () => {
      subL.unsubscribe()
      subR.unsubscribe()
      machine.dispose?.()
    }
  })
}
