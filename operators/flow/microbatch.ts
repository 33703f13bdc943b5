import { Observable, type OperatorFunction, type Subscription } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import type { MicrobatchSpec } from '../../dsl/flow.ts'
import { registerMachine, type RunContext } from '../core/context.ts'
import { stageSubscriber } from '../core/subscriber.ts'

/** Size-or-time blocks (see `microbatch` in dsl/flow.ts); the timer runs on `ctx.scheduler`. */
export function microbatchOperator(spec: MicrobatchSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown[]>> {
  const { size, maxWait } = spec
  return (source) =>
    new Observable<Element<unknown[]>>((subscriber) => {
      let block: unknown[] = []
      let maxTime = Number.NEGATIVE_INFINITY
      let firstPos = 0
      let heldWatermark = Number.NEGATIVE_INFINITY
      let timer: Subscription | undefined
      // The open block is state like any window's: a checkpoint taken while it is open must carry
      // its events, or a restored run would lose them (their source offsets are already covered).
      registerMachine(ctx, {
        // Copies both ways: a store may keep the checkpoint object as given, and the block goes on
        // filling after the save (and after a restore, it must not fill the checkpoint's array).
        snapshot: () => ({
          block: block.slice(),
          maxTime: Number.isFinite(maxTime) ? maxTime : null,
          firstPos,
          held: Number.isFinite(heldWatermark) ? heldWatermark : null,
        }),
        restore: (state) => {
          const st = state as { block: unknown[]; maxTime: number | null; firstPos: number; held: number | null }
          timer?.unsubscribe()
          block = st.block.slice()
          maxTime = st.maxTime ?? Number.NEGATIVE_INFINITY
          firstPos = st.firstPos
          heldWatermark = st.held ?? Number.NEGATIVE_INFINITY
          // The block's wait restarts from the restore: the processing time before the crash is gone.
          timer = block.length > 0 ? ctx.scheduler.schedule(flush, maxWait) : undefined
        },
      })

      const flush = () => {
        timer?.unsubscribe()
        timer = undefined
        if (block.length > 0) {
          const value = block
          block = []
          subscriber.next({ _tag: 'Data', value, time: maxTime, key: undefined, pos: firstPos })
          maxTime = Number.NEGATIVE_INFINITY
        }
        if (heldWatermark > Number.NEGATIVE_INFINITY) {
          const w = heldWatermark
          heldWatermark = Number.NEGATIVE_INFINITY
          subscriber.next({ _tag: 'Watermark', time: w })
        }
      }
      const sub = source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Watermark') {
              if (block.length === 0) subscriber.next(e)
              else if (e.time === Number.POSITIVE_INFINITY) {
                heldWatermark = e.time
                flush()
              } else heldWatermark = e.time
              return
            }
            if (block.length === 0) {
              firstPos = e.pos
              timer = ctx.scheduler.schedule(flush, maxWait)
            }
            block.push(e.value)
            if (e.time > maxTime) maxTime = e.time
            if (block.length >= size) flush()
          },
          complete: () => {
            flush()
            subscriber.complete()
          },
        }),
      )
      return () => {
        timer?.unsubscribe()
        sub.unsubscribe()
      }
    })
}
