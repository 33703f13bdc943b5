import type * as t from 'io-ts'
import type { Stream, Unkeyed } from './stream.ts'
import { SOURCE, stream } from './stream.ts'
import type { WatermarkStrategy, ResolvedWatermarks } from './watermarks.ts'
import { resolveWatermarks } from './watermarks.ts'

export interface PipelineOptions<I> {
  /** A name for `explain` and the CLI summary. */
  readonly name?: string
  /** Validates each source event; failures become dead letters with the codec's message. */
  readonly codec?: t.Decoder<unknown, I>
  /** Event time of a source event, in ms. Without it, events take the processing time they arrive at. */
  readonly eventTime?: (a: I) => number
  /** `boundedOutOfOrder(d)`, optionally with `idleTimeout(p)`; default: in order (`d = 0`). */
  readonly watermark?: WatermarkStrategy | readonly WatermarkStrategy[]
}

/** A pipeline: its source's codec and event time, and the description of its stages. */
export interface Pipeline<I, O, K = unknown> {
  readonly _tag: 'Pipeline'
  readonly name: string
  readonly codec: t.Decoder<unknown, I> | undefined
  readonly eventTime: ((a: I) => number) | undefined
  readonly watermarks: ResolvedWatermarks
  readonly output: Stream<O, K>
}

/**
 * Defines a pipeline as a typed function from the source stream to the output stream.
 *
 * @example
 * const big = pipeline({ codec: Trip, eventTime: (t) => t.ts, watermark: boundedOutOfOrder('5s') },
 *   (s) => pipe(s, filter((t) => t.fare > 50)))
 */
export function pipeline<I, O, K>(
  options: PipelineOptions<I>,
  build: (source: Stream<I, Unkeyed>) => Stream<O, K>,
): Pipeline<I, O, K> {
  return {
    _tag: 'Pipeline',
    name: options.name ?? 'pipeline',
    codec: options.codec,
    eventTime: options.eventTime,
    watermarks: resolveWatermarks(options.watermark),
    output: build(stream<I>(SOURCE)),
  }
}

/** Any pipeline, whatever its types (for tools that only inspect or run it: explain, the CLI). */
export type AnyPipeline = Pipeline<any, any, any>

export const isPipeline = (x: unknown): x is AnyPipeline =>
  typeof x === 'object' && x !== null && (x as { _tag?: unknown })._tag === 'Pipeline'
