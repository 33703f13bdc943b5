import { Observable, type OperatorFunction } from 'rxjs'
import type { Data, Element, Watermark } from '../../dsl/element.ts'
import { stageSubscriber } from './subscriber.ts'
import { registerMachine, type RunContext } from './context.ts'

/** Where a stateful machine sends its results. */
export interface Emit<O, KO = unknown> {
  (d: Data<O, KO>): void
}

/**
 * The pure-ish core of a single-input stateful operator: it sees data and watermark advances and
 * pushes results to the emitter it was built with. The wrapper forwards each watermark after the
 * machine has handled it, so results always precede the watermark that released them.
 */
export interface Machine<I, K> {
  data(d: Data<I, K>): void
  /**
   * `data` for an element passed in parts (chained links call it when present, to build no record).
   * A function property that does not use `this`: links call it detached.
   */
  push?(value: I, time: number, key: K, pos: number): void
  /** Called only when the watermark advances; `+Infinity` is end of input. */
  watermark(w: number): void
  /** Releases timers or other resources on teardown. */
  dispose?(): void
  /** The machine's whole state as plain JSON-serializable data, for checkpoints. */
  snapshot?(): unknown
  /** Replaces the state with one taken by `snapshot` (of a machine with the same spec). */
  restore?(state: unknown): void
}

/** Anything whose state a checkpoint can take and give back. */
export interface Stateful {
  snapshot?(): unknown
  restore?(state: unknown): void
}

/** The plan node a machine belongs to: a stage of the description (`Node`), or the source's watermark generator (`SOURCE`). */
export type StageRef = object

/**
 * Wraps a machine as an RxJS operator: subscribe, feed, forward, tear down. Shared by every
 * single-input stateful operator so none repeats the subscription plumbing.
 */
export function fromMachine<I, K, O, KO = unknown>(
  ctx: RunContext,
  make: (emit: Emit<O, KO>, forward: (w: Watermark) => void) => Machine<I, K>,
): OperatorFunction<Element<I, K>, Element<O, KO>> {
  return (source) =>
    new Observable<Element<O, KO>>((subscriber) => {
      // An object field, not a closure variable, so a non-small-integer time is stored in place.
      const seen = { current: Number.NEGATIVE_INFINITY }
      const machine = make(
        (d) => subscriber.next(d),
        (w) => subscriber.next(w),
      )
      registerMachine(ctx, machine)
      const sub = source.subscribe(
        stageSubscriber<Element<I, K>>(subscriber, {
          next(e) {
            if (e._tag === 'Data') machine.data(e)
            else if (e.time > seen.current) {
              seen.current = e.time
              machine.watermark(e.time)
              subscriber.next(e)
            }
          },
        }),
      )
      return () => {
        sub.unsubscribe()
        machine.dispose?.()
      }
    })
}
