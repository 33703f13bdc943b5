import type { Pipeline } from '../dsl/pipeline.ts'
import type { DeadLetter, Late } from '../dsl/sides.ts'
import { plan, type PlanStep } from '../dsl/plan.ts'
import type { LogSource } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import type { RunMetrics } from '../harness/result.ts'

/** Options of `reportOf` and `report`. */
export interface ReportOptions {
  /** Replay only this topic's records (see `replay`). */
  readonly topic?: string
  /** Outputs kept for the tables and charts (default 20,000); the others are counted. */
  readonly maxOutputs?: number
  /** Dead letters and late events quoted as samples (default 5 of each). */
  readonly samples?: number
  /** Points kept per series over the replay (watermark, throughput; default 2,000, thinned evenly). */
  readonly maxPoints?: number
}

/** One point of the watermark series: after `records` records, the watermark and the largest event time seen. */
export interface WatermarkPoint {
  readonly records: number
  readonly watermark: number
  /** Undefined when the pipeline has no `eventTime` (events take their arrival time). */
  readonly maxEventTime: number | undefined
}

/** Read speed over the replay: `records` read after `wallMs` of real time. */
export interface ThroughputPoint {
  readonly wallMs: number
  readonly records: number
}

/** An output with the largest event time seen when it was produced (where it sits in event time). */
export interface TimedOutput {
  readonly value: unknown
  readonly eventTime: number | undefined
  readonly pos: number
}

/** What a report shows: gathered by one replay. */
export interface ReportData {
  readonly name: string
  readonly plan: readonly PlanStep[]
  readonly metrics: RunMetrics
  /** The first `maxOutputs` outputs. */
  readonly outputs: readonly TimedOutput[]
  readonly watermarks: readonly WatermarkPoint[]
  readonly throughput: readonly ThroughputPoint[]
  /** Every dead letter counted by reason, and late event by stage. */
  readonly deadLettersByReason: ReadonlyMap<string, number>
  readonly lateByStage: ReadonlyMap<string, number>
  readonly deadLetterSamples: readonly DeadLetter[]
  readonly lateSamples: readonly Late[]
}

/**
 * Replays `log` through `p` once, in virtual time, and gathers what a report shows: the plan, the
 * outputs with their place in event time, the watermark at the end of the pipeline against the
 * largest event time read, side outputs by reason with samples, and read speed. Memory stays
 * bounded: outputs, samples and series are capped (see `ReportOptions`).
 */
export async function reportOf<I, O, K>(p: Pipeline<I, O, K>, log: LogSource, options: ReportOptions = {}): Promise<ReportData> {
  const maxOutputs = options.maxOutputs ?? 20_000
  const samples = options.samples ?? 5
  const watermarks = new Thinned<WatermarkPoint>(options.maxPoints ?? 2_000)
  const throughput = new Thinned<ThroughputPoint>(options.maxPoints ?? 2_000)
  const outputs: TimedOutput[] = []
  const deadLettersByReason = new Map<string, number>()
  const lateByStage = new Map<string, number>()
  // The pipeline's own eventTime, watched: it runs once per record, just before the watermark that
  // record brings, so the largest time it returned is the largest event time read at that moment.
  let records = 0
  let maxEventTime = Number.NEGATIVE_INFINITY
  const eventTime = p.eventTime
  const watched: Pipeline<I, O, K> =
    eventTime === undefined
      ? p
      : {
          ...p,
          eventTime: (a: I) => {
            const t = eventTime(a)
            records++
            if (t > maxEventTime) maxEventTime = t
            return t
          },
        }
  const known = () => (eventTime !== undefined && maxEventTime > Number.NEGATIVE_INFINITY ? maxEventTime : undefined)
  const started = performance.now()
  const result = await replay(watched, log, {
    topic: options.topic,
    keepOutput: false,
    keepSideOutputs: samples,
    // Smaller reads than replay's default, so that a log of a few MB gives a throughput curve.
    chunkSize: 64 * 1024,
    onOutput: (value, pos) => {
      if (outputs.length < maxOutputs) outputs.push({ value, eventTime: known(), pos })
    },
    onWatermark: (w) => {
      if (Number.isFinite(w)) watermarks.push({ records, watermark: w, maxEventTime: known() })
    },
    onDeadLetter: (d) => deadLettersByReason.set(d.reason, (deadLettersByReason.get(d.reason) ?? 0) + 1),
    onLate: (l) => lateByStage.set(l.stage, (lateByStage.get(l.stage) ?? 0) + 1),
    onProgress: (pr) => throughput.push({ wallMs: performance.now() - started, records: pr.eventsIn }),
  })
  return {
    name: p.name,
    plan: plan(p),
    metrics: result.metrics,
    outputs,
    watermarks: watermarks.points(),
    throughput: throughput.points(),
    deadLettersByReason,
    lateByStage,
    deadLetterSamples: result.deadLetters,
    lateSamples: result.late,
  }
}

/**
 * A series of at most `max` points spread evenly over everything pushed: when full, every other
 * point is dropped and from then on only every second (fourth, ...) point pushed is kept. The last
 * point pushed is always kept.
 */
export class Thinned<T> {
  private readonly kept: T[] = []
  private stride = 1
  private seen = 0
  private latest: T | undefined

  constructor(private readonly max: number) {}

  push(p: T): void {
    this.latest = p
    if (this.seen++ % this.stride !== 0) return
    this.kept.push(p)
    if (this.kept.length >= this.max) {
      let j = 0
      for (let i = 0; i < this.kept.length; i += 2) this.kept[j++] = this.kept[i]
      this.kept.length = j
      this.stride *= 2
    }
  }

  points(): T[] {
    return this.latest !== undefined && this.kept[this.kept.length - 1] !== this.latest ? [...this.kept, this.latest] : [...this.kept]
  }
}
