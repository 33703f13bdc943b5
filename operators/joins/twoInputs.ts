import { Observable } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import { registerMachine } from '../core/operate.ts'

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
  left: Observable<Element<L, unknown>>,
  right: Observable<Element<R, unknown>>,
  make: (emit: (d: Data<O, unknown>) => void) => Machine2<L, R>,
  outputWatermark: (w: number) => number = (w) => w,
): Observable<Element<O, unknown>> {
  return new Observable<Element<O, unknown>>((subscriber) => {
    const machine = make((d) => subscriber.next(d))
    registerMachine(machine)
    let wl = Number.NEGATIVE_INFINITY
    let wr = Number.NEGATIVE_INFINITY
    let current = Number.NEGATIVE_INFINITY
    let forwarded = Number.NEGATIVE_INFINITY
    let open = 2
    const onWatermark = () => {
      const w = wl < wr ? wl : wr
      if (w <= current) return
      current = w
      machine.watermark(w)
      const out = outputWatermark(w)
      if (out > forwarded) {
        forwarded = out
        subscriber.next({ _tag: 'Watermark', time: out })
      }
    }
    const done = () => {
      if (--open === 0) subscriber.complete()
    }
    // A throw inside the machine (fail-fast, or a bug) must reach the error channel.
    const subL = left.subscribe({
      next(e) {
        try {
          if (e._tag === 'Data') machine.left(e)
          else if (e.time > wl) {
            wl = e.time
            onWatermark()
          }
        } catch (err) {
          subscriber.error(err)
        }
      },
      error: (err) => subscriber.error(err),
      complete: done,
    })
    const subR = right.subscribe({
      next(e) {
        try {
          if (e._tag === 'Data') machine.right(e)
          else if (e.time > wr) {
            wr = e.time
            onWatermark()
          }
        } catch (err) {
          subscriber.error(err)
        }
      },
      error: (err) => subscriber.error(err),
      complete: done,
    })
    return () => {
      subL.unsubscribe()
      subR.unsubscribe()
      machine.dispose?.()
    }
  })
}
