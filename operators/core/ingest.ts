import { Observable, type OperatorFunction, type Subscription } from 'rxjs'
import type * as t from 'io-ts'
import { PathReporter } from 'io-ts/lib/PathReporter.js'
import { isLeft } from 'fp-ts/lib/Either.js'
import { END_OF_INPUT, type Data, type Element } from '../../dsl/element.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { ResolvedWatermarks } from '../../dsl/watermarks.ts'
import type { RunContext } from './context.ts'
import { stageSubscriber } from './subscriber.ts'
import { chain, type Cursor } from './fused.ts'
import { link, type Downstream, type Segment } from './chained.ts'
import { registerMachine } from './operate.ts'

export interface IngestSpec<I> {
  readonly codec: t.Decoder<unknown, I> | undefined
  readonly eventTime: ((a: I) => number) | undefined
  readonly watermarks: ResolvedWatermarks
}

/** A decoded source value with its event time. */
export interface Admitted<I> {
  value: I
  time: number
}

/**
 * Decodes one source record and computes its event time, writing into `out` (reused, so the hot
 * path allocates nothing). Returns false after sending the record to dead letters.
 */
export function admit<I>(
  spec: IngestSpec<I>,
  ctx: RunContext,
  raw: unknown,
  pos: number,
  arrival: number,
  out: Admitted<I>,
): boolean {
  let value: I
  if (spec.codec !== undefined) {
    const r = spec.codec.decode(raw)
    if (isLeft(r)) {
      ctx.deadLetter(deadLetter('codec', 'source', pos, PathReporter.report(r).join('; '), raw))
      return false
    }
    value = r.right
  } else value = raw as I
  let time: number
  if (spec.eventTime === undefined) time = Number.isFinite(arrival) ? arrival : ctx.scheduler.now()
  else {
    try {
      time = spec.eventTime(value)
    } catch (e) {
      ctx.deadLetter(deadLetter('user', 'eventTime', pos, errorMessage(e), value))
      return false
    }
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      ctx.deadLetter(deadLetter('user', 'eventTime', pos, `eventTime returned ${String(time)}, not a finite number`, value))
      return false
    }
  }
  out.value = value
  out.time = time
  return true
}

/** -Infinity is not JSON: a checkpoint stores it as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null)

/**
 * The head of every compiled pipeline: decodes each source record with the codec, stamps its event
 * time and generates watermarks (`boundedOutOfOrder`, `idleTimeout`). Records arrive as `Data`
 * whose `time` is their processing (arrival) time and whose `pos` is their source position.
 * Completion emits the end-of-input watermark (`+Infinity`) first.
 */
export function ingest<I>(
  spec: IngestSpec<I>,
  ctx: RunContext,
  segments: readonly Segment[] = [],
  options: { watermarks?: boolean } = {},
): OperatorFunction<Data<unknown>, Element<I>> {
  const emitWatermarks = options.watermarks ?? true
  const { maxDelay, idle } = spec.watermarks
  return (source) =>
    new Observable<Element<I>>((subscriber) => {
      let maxSeen = Number.NEGATIVE_INFINITY
      let wm = Number.NEGATIVE_INFINITY
      let lastArrival = ctx.scheduler.now()
      let idleTimer: Subscription | undefined
      const slot: Admitted<I> = { value: undefined as I, time: 0 }
      // The stages chained after the source run inside ingest (see `link`); stateless stages
      // right after the source work on bare values, with no record until they are done.
      const end: Downstream = {
        data: (d) => subscriber.next(d as Data<I>),
        watermark: emitWatermarks ? (w) => subscriber.next({ _tag: 'Watermark', time: w }) : () => undefined,
      }
      const first = segments[0]
      const leading = first !== undefined && first._tag === 'Stateless' ? first.stages : undefined
      const { head: out, machines } = link(leading === undefined ? segments : segments.slice(1), ctx, end)
      const cur: Cursor = { time: 0, key: undefined, pos: 0 }
      const head =
        leading === undefined
          ? undefined
          : chain(leading, cur, ctx, (value) => out.data({ _tag: 'Data', value, time: cur.time, key: cur.key, pos: cur.pos }))
      // The watermark generator's state is part of a checkpoint like any operator's.
      registerMachine({
        snapshot: () => ({ maxSeen: finite(maxSeen), wm: finite(wm) }),
        restore: (s) => {
          const st = s as { maxSeen: number | null; wm: number | null }
          maxSeen = st.maxSeen ?? Number.NEGATIVE_INFINITY
          wm = st.wm ?? Number.NEGATIVE_INFINITY
        },
      })

      const advance = (w: number) => {
        if (w > wm) {
          wm = w
          out.watermark(w)
        }
      }
      // One timer, re-armed lazily: events only move `lastArrival`, so a busy stream costs no
      // timer-queue work per event.
      const armIdle = (delay: number) => {
        idleTimer = ctx.scheduler.schedule(() => {
          const now = ctx.scheduler.now()
          const quietFor = now - lastArrival
          if (quietFor >= idle!) {
            advance(now - maxDelay)
            armIdle(idle!)
          } else armIdle(idle! - quietFor)
        }, delay)
      }
      if (idle !== undefined) armIdle(idle)

      const sub = source.subscribe(
        stageSubscriber<Data<unknown>>(subscriber, {
          next(d) {
            // Reading the clock costs as much as the rest of ingest: only idle timeouts need it.
            if (idle !== undefined) lastArrival = ctx.scheduler.now()
            if (!admit(spec, ctx, d.value, d.pos, d.time, slot)) return
            const time = slot.time
            if (head === undefined) out.data({ _tag: 'Data', value: slot.value, time, key: undefined, pos: d.pos })
            else {
              cur.time = time
              cur.key = undefined
              cur.pos = d.pos
              head(slot.value)
            }
            if (time > maxSeen) {
              maxSeen = time
              advance(time - maxDelay)
            }
          },
          complete() {
            idleTimer?.unsubscribe()
            idleTimer = undefined
            advance(END_OF_INPUT.time)
            subscriber.complete()
          },
        }),
      )
      return () => {
        idleTimer?.unsubscribe()
        sub.unsubscribe()
        for (const m of machines) m.dispose?.()
      }
    })
}
