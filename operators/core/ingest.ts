import { Observable, type OperatorFunction, type Subscription } from 'rxjs'
import type * as t from 'io-ts'
import { PathReporter } from 'io-ts/lib/PathReporter.js'
import { END_OF_INPUT, type Data, type Element, type SourceRecord } from '../../dsl/element.ts'
import { deadLetter, errorMessage, textOf } from '../../dsl/sides.ts'
import type { ResolvedWatermarks } from '../../dsl/watermarks.ts'
import { registerMachine, type RunContext } from './context.ts'
import { stageSubscriber } from './subscriber.ts'
import { chainCode } from './fused.ts'
import { SOURCE, type OperatorNode, type StatelessNode } from '../../dsl/stream.ts'
import { link, type Downstream, type Segment } from './chained.ts'
import { generate } from './codegen.ts'

export interface IngestSpec<I> {
  readonly codec: t.Decoder<unknown, I> | undefined
  readonly eventTime: ((a: I) => number) | undefined
  readonly watermarks: ResolvedWatermarks
  /** A named source's name (its dead letters' stage is `source <name>`); none for a pipeline's one source. */
  readonly sourceName?: string
}

/**
 * Why the codec rejected a record. Building the report walks the input: one nested thousands of
 * levels deep overflows the stack there, which must stay that record's dead letter, not end the run.
 */
const codecReport = (r: t.Validation<unknown>): string => {
  try {
    return PathReporter.report(r).join('; ')
  } catch (e) {
    return `the codec rejected it (its report could not be built: ${errorMessage(e)})`
  }
}

/** The dead letters of admission: a record the codec rejects, an event time that throws or is no number. */
const rejections = (ctx: RunContext, stage: string) => ({
  codecFailed: (r: t.Validation<unknown>, pos: number, raw: unknown) => ctx.deadLetter(deadLetter('codec', stage, pos, codecReport(r), raw)),
  // A codec that throws (a user codec's validate, a getter of the input that throws) rejects the
  // input like one that fails: it must not fail the run.
  codecThrew: (e: unknown, pos: number, raw: unknown) => ctx.deadLetter(deadLetter('codec', stage, pos, `the codec threw: ${errorMessage(e)}`, raw)),
  timeThrew: (e: unknown, pos: number, value: unknown) => ctx.deadLetter(deadLetter('user', 'eventTime', pos, errorMessage(e), value)),
  timeInvalid: (time: unknown, pos: number, value: unknown) =>
    ctx.deadLetter(deadLetter('user', 'eventTime', pos, `eventTime returned ${textOf(time)}, not a finite number`, value)),
})

/** A source record to fill and send again and again (see `reusableRecord`). */
export interface RecordSlot {
  /** The slot's one record, now holding `value` that arrived at `time` (NaN: now) from position `pos`. */
  fill(value: unknown, time: number, pos: number): Data<unknown>
}

/**
 * One mutable source record for a feeder that sends a record at a time. Ingest reads a source record
 * while it is being sent and never keeps it (what goes on is a record of its own), so the feeder
 * needs no new object per record: that is an allocation per event saved on every replay and run.
 */
export function reusableRecord(): RecordSlot {
  const rec = { _tag: 'Data' as const, value: undefined as unknown, time: Number.NaN, key: undefined, pos: 0 }
  return {
    fill(value, time, pos) {
      rec.value = value
      rec.time = time
      rec.pos = pos
      return rec
    },
  }
}

/** The watermark generator's state, and when the last record arrived (for idle timeouts). */
interface IngestState {
  maxSeen: number
  wm: number
  lastArrival: number
}

/** The state before any record: no time seen, no watermark. */
export const freshIngestState = (now: number): IngestState => ({ maxSeen: Number.NEGATIVE_INFINITY, wm: Number.NEGATIVE_INFINITY, lastArrival: now })

/** What `ingestStep` generates: the step for a source record or batch, and for one bare value. */
export interface IngestStep {
  readonly record: (d: SourceRecord) => void
  readonly value: (v: unknown, arrival: number, pos: number) => void
}

/**
 * What ingest does with one source record, generated as code of its own for every pipeline
 * (see codegen.ts): admit it (decode, event time), run the stateless stages chained after the
 * source, hand the result to `out`, and, with `watermarks`, raise the watermark. Every call here
 * (the codec, the user's event time, the chain, the next link) sees one target even when a process
 * runs many pipelines, and V8 can inline them. Without watermarks and an event time, no time is
 * computed at all (a stateless pipeline's values need none).
 */
export function ingestStep<I>(
  spec: IngestSpec<I>,
  ctx: RunContext,
  st: IngestState,
  leading: readonly StatelessNode[] | undefined,
  out: Downstream,
  downstream: { readonly closed: boolean; error(e: unknown): void },
  watermarks = true,
): IngestStep {
  const { maxDelay, idle } = spec.watermarks
  // The stateless stages right after the source are part of this code (`chainCode`), not a call.
  const gen = chainCode(leading ?? [], 'break chain', 'out.push(v, time, key, pos)', 'downstream.closed')
  const { codecFailed, codecThrew, timeThrew, timeInvalid } = rejections(ctx, spec.sourceName === undefined ? 'source' : `source ${spec.sourceName}`)
  const body = `
    function one(v, arrival, pos) {
      ${spec.codec !== undefined ? "let r; try { r = codec.decode(v) } catch (e) { codecThrew(e, pos, v); return } if (r._tag === 'Left') { codecFailed(r, pos, v); return } v = r.right" : ''}
      let time
      ${
        spec.eventTime !== undefined
          ? `try { time = eventTime(v) } catch (e) { timeThrew(e, pos, v); return }
             if (typeof time !== 'number' || !Number.isFinite(time)) { timeInvalid(time, pos, v); return }`
          : watermarks
            ? 'time = Number.isFinite(arrival) ? arrival : scheduler.now()'
            : 'time = arrival'
      }
      let key
      chain: {
        ${gen.code}
      }
      ${
        watermarks
          ? `if (time > st.maxSeen) {
               st.maxSeen = time
               const w = time - maxDelay
               if (w > st.wm) { st.wm = w; out.watermark(w) }
             }`
          : ''
      }
    }
    return { value: one, record: function ingest(d) {
      try {
        ${idle !== undefined ? 'st.lastArrival = scheduler.now()' : ''}
        if (d._tag === 'Data') return one(d.value, d.time, d.pos)
        ${
          watermarks
            ? `// A watermark sent in by a test driver (advanceWatermarkTo): raises the watermark, never lowers it.
               if (d._tag === 'Watermark') { if (d.time > st.wm) { st.wm = d.time; out.watermark(d.time) } return }`
            : "if (d._tag === 'Watermark') return"
        }
        const values = d.values, arrival = d.time, pos = d.pos
        // Stop where a record alone would have stopped: once the output is unsubscribed or failed.
        for (let i = 0; i < values.length && !downstream.closed; i++) one(values[i], arrival, pos + i)
      } catch (e) {
        // A stage downstream failed (or fail-fast): the run fails, as the stage subscriber would make it.
        downstream.error(e)
      }
    } }`
  const params = ['st', 'scheduler', 'codec', 'eventTime', 'out', 'codecFailed', 'codecThrew', 'timeThrew', 'timeInvalid', 'maxDelay', 'downstream', ...gen.params]
  return generate('ingest', params, body)(
    st,
    ctx.scheduler,
    spec.codec,
    spec.eventTime,
    out,
    codecFailed,
    codecThrew,
    timeThrew,
    timeInvalid,
    maxDelay,
    downstream,
    ...gen.args(ctx),
  ) as IngestStep
}

/** -Infinity is not JSON: a checkpoint stores it as null. */
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null)

/** A source's admission, set up (see `admission`). */
export interface Admission {
  /** A source record or batch in. */
  readonly record: (d: SourceRecord) => void
  /** One value in, that arrived at `arrival` (NaN: now) from position `pos`. */
  readonly value: (v: unknown, arrival: number, pos: number) => void
  /** The input ended: the end-of-input watermark goes out. */
  end(): void
  /** Stops the idle timer (teardown). */
  dispose(): void
}

/** Options of `admission`. */
export interface AdmissionOptions {
  /** The stateless stages right after the source, run inside its generated step. */
  readonly leading?: readonly StatelessNode[]
  /** The named source whose admission this is; none for a pipeline's input. */
  readonly stage?: OperatorNode
  /**
   * The input of a pipeline with several sources: records routed to its named sources, which stamp
   * their own event times and make their own watermarks (namedSource.ts). It passes each record's
   * arrival on as it came, with no clock read per record, and makes no watermark but the end of input.
   */
  readonly routed?: boolean
}

/**
 * What a source does with its records, wherever it runs (`ingest`, or a named source chained inside
 * the pipeline's input, see namedSource.ts): `ingestStep` over the watermark generator's state, that
 * state registered for checkpoints (as `stage`'s when given, else as the source's), and the idle
 * timer. Results and watermarks go to `out`.
 */
export function admission<I>(
  spec: IngestSpec<I>,
  ctx: RunContext,
  out: Downstream,
  downstream: { readonly closed: boolean; error(e: unknown): void },
  options: AdmissionOptions = {},
): Admission {
  const { leading, stage } = options
  const { maxDelay, idle } = spec.watermarks
  const st = freshIngestState(ctx.scheduler.now())
  let idleTimer: Subscription | undefined
  const step = ingestStep(spec, ctx, st, leading, out, downstream, options.routed !== true)
  // The watermark generator's state is part of a checkpoint like any operator's.
  registerMachine(ctx, {
    snapshot: () => ({ maxSeen: finite(st.maxSeen), wm: finite(st.wm) }),
    restore: (s) => {
      const saved = s as { maxSeen: number | null; wm: number | null }
      st.maxSeen = saved.maxSeen ?? Number.NEGATIVE_INFINITY
      st.wm = saved.wm ?? Number.NEGATIVE_INFINITY
      // A named source's watermark is one input of the stages reading several sources, whose
      // minimum of their inputs is not in the checkpoint: announced again, it is as at the cut
      // (a stage restored after this gets its own saved state back over it).
      if (stage !== undefined && Number.isFinite(st.wm)) out.watermark(st.wm)
    },
  }, stage ?? SOURCE)

  const advance = (w: number) => {
    if (w > st.wm) {
      st.wm = w
      out.watermark(w)
    }
  }
  // One timer, re-armed lazily: events only move `lastArrival`, so a busy stream costs no
  // timer-queue work per event.
  const armIdle = (delay: number) => {
    idleTimer = ctx.scheduler.schedule(() => {
      const now = ctx.scheduler.now()
      const quietFor = now - st.lastArrival
      if (quietFor >= idle!) {
        advance(now - maxDelay)
        armIdle(idle!)
      } else armIdle(idle! - quietFor)
    }, delay)
  }
  if (idle !== undefined) armIdle(idle)
  const dispose = () => {
    idleTimer?.unsubscribe()
    idleTimer = undefined
  }
  return {
    record: step.record,
    // `record` notes the arrival for the idle timer itself.
    value:
      idle === undefined
        ? step.value
        : (v, arrival, pos) => {
            st.lastArrival = ctx.scheduler.now()
            step.value(v, arrival, pos)
          },
    end() {
      dispose()
      advance(END_OF_INPUT.time)
    },
    dispose,
  }
}

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
  options: { watermarks?: boolean; stage?: OperatorNode; routed?: boolean } = {},
): OperatorFunction<SourceRecord, Element<I>> {
  const emitWatermarks = options.watermarks ?? true
  return (source) =>
    new Observable<Element<I>>((subscriber) => {
      // The stages chained after the source run inside ingest (see `link`); stateless stages
      // right after the source work on bare values, with no record until they are done.
      const end: Downstream = {
        data: (d) => subscriber.next(d as Data<I>),
        push: (value, time, key, pos) => subscriber.next({ _tag: 'Data', value: value as I, time, key, pos }),
        watermark: emitWatermarks ? (w) => subscriber.next({ _tag: 'Watermark', time: w }) : () => undefined,
        ignoresWatermarks: !emitWatermarks,
      }
      const first = segments[0]
      const leading = first !== undefined && first._tag === 'Stateless' ? first.stages : undefined
      const { head: out, machines } = link(leading === undefined ? segments : segments.slice(1), ctx, end)
      const admit = admission(spec, ctx, out, subscriber, { leading, stage: options.stage, routed: options.routed })
      const sub = source.subscribe(
        stageSubscriber<SourceRecord>(subscriber, {
          next: admit.record,
          guarded: true,
          complete() {
            admit.end()
            subscriber.complete()
          },
        }),
      )
      return () => {
        admit.dispose()
        sub.unsubscribe()
        for (const m of machines) m.dispose?.()
      }
    })
}
