import type { Time } from './time.ts'

/**
 * One data element in flight: the user's value with its event time, its key (once keyed) and the
 * position of the source record it came from (line number or offset), kept for side outputs.
 */
export interface Data<A, K = unknown> {
  readonly _tag: 'Data'
  readonly value: A
  readonly time: Time
  readonly key: K
  readonly pos: number
}

/** An in-band watermark: later events with time `< time` are late. Never goes backwards. */
export interface Watermark {
  readonly _tag: 'Watermark'
  readonly time: Time
}

/**
 * Source records sent as one: `values[i]` is the record at source position `pos + i`, and they all
 * arrived at `time` (NaN: now). Ingest takes each in turn exactly as if it had come alone (same
 * event times, same watermark after each), so batching changes how records travel, never what a
 * pipeline computes; it saves a record object and an RxJS call per event. `run` sends arrays and
 * iterables this way.
 */
export interface Batch<A = unknown> {
  readonly _tag: 'Batch'
  readonly values: readonly A[]
  readonly time: Time
  readonly pos: number
}

/**
 * What a compiled pipeline reads: source records, alone (`Data` with arrival time and position) or in
 * batches, and watermarks a test driver sends in (`advanceWatermarkTo`: the watermark rises to at
 * least that time, as if events had raised it).
 */
export type SourceRecord = Data<unknown> | Batch | Watermark

/** What flows through a compiled pipeline: data and in-band watermarks. */
export type Element<A, K = unknown> = Data<A, K> | Watermark

export const data = <A, K = undefined>(value: A, time: Time, key: K, pos: number): Data<A, K> => ({
  _tag: 'Data',
  value,
  time,
  key,
  pos,
})

export const watermark = (time: Time): Watermark => ({ _tag: 'Watermark', time })

/** The watermark emitted at end of input: every window fires, every pending match resolves. */
export const END_OF_INPUT: Watermark = watermark(Number.POSITIVE_INFINITY)

export const isWatermark = <A, K>(e: Element<A, K>): e is Watermark => e._tag === 'Watermark'
