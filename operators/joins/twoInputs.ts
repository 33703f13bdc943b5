import { Observable } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import { registerMachine, type RunContext } from '../core/context.ts'
import { MinWatermark } from '../core/MinWatermark.ts'
import { stageSubscriber } from '../core/subscriber.ts'
import type { Downstream } from '../core/chained.ts'
import { generate } from '../core/codegen.ts'

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
    const advance = minWatermark(machine, outputWatermark, (w) => subscriber.next({ _tag: 'Watermark', time: w }))
    let open = 2
    const complete = () => {
      if (--open === 0) subscriber.complete()
    }
    // Guarded handlers, one per side: RxJS calls each directly, and data reaches the machine with no
    // call in between: about 10% less CPU for the joins bench's table-table join.
    const subL = left.subscribe(
      stageSubscriber<Element<L, unknown>>(subscriber, {
        next(e) {
          try {
            if (e._tag === 'Data') machine.left(e)
            else advance(0, e.time)
          } catch (err) {
            subscriber.error(err)
          }
        },
        guarded: true,
        complete,
      }),
    )
    const subR = right.subscribe(
      stageSubscriber<Element<R, unknown>>(subscriber, {
        next(e) {
          try {
            if (e._tag === 'Data') machine.right(e)
            else advance(1, e.time)
          } catch (err) {
            subscriber.error(err)
          }
        },
        guarded: true,
        complete,
      }),
    )
    return () => {
      subL.unsubscribe()
      subR.unsubscribe()
      machine.dispose?.()
    }
  })
}

/**
 * The watermark of a two-input machine: each input's advance in, the machine told when the minimum
 * of both advances, then `forward(outputWatermark(min))` when that advances in turn.
 */
function minWatermark(
  machine: { watermark(w: number): void },
  outputWatermark: (w: number) => number,
  forward: (w: number) => void,
): (input: 0 | 1, time: number) => void {
  const marks = new MinWatermark(2)
  let forwarded = Number.NEGATIVE_INFINITY
  return (input, time) => {
    const w = marks.advance(input, time)
    if (w === undefined) return
    machine.watermark(w)
    const out = outputWatermark(w)
    if (out > forwarded) {
      forwarded = out
      forward(out)
    }
  }
}

/**
 * A two-input machine as a junction of a chain (see `link`): the chain's two branches call its
 * inputs directly, with no operator between, and its results go on to `to`. The same machine, the
 * same watermarks and the same order as `fromMachine2` over the two branches as operators.
 */
export function junction2(
  machine: Machine2<unknown, unknown>,
  to: Downstream,
  outputWatermark: (w: number) => number = (w) => w,
): readonly Downstream[] {
  const advance = minWatermark(machine, outputWatermark, to.ignoresWatermarks === true ? () => undefined : (w) => to.watermark(w))
  return [junctionInput(machine, 'left', 0, advance), junctionInput(machine, 'right', 1, advance)]
}

/**
 * One input of a junction, as code of its own (see codegen.ts): its call to the machine's side sees
 * one target even when a process runs many joins.
 */
const junctionInput = (machine: Machine2<unknown, unknown>, side: 'left' | 'right', input: 0 | 1, advance: (input: 0 | 1, time: number) => void): Downstream =>
  generate(
    'junctionInput',
    ['machine', 'input', 'advance'],
    `return {
      data(d) { machine.${side}(d) },
      push(value, time, key, pos) { machine.${side}({ _tag: 'Data', value, time, key, pos }) },
      watermark(w) { advance(input, w) },
    }`,
  )(machine, input, advance) as Downstream
