import type * as t from 'io-ts'
import { deadLetter, type DeadLetter } from './sides.ts'
import type { Stream, Unkeyed } from './stream.ts'
import { resolveWatermarks, type ResolvedWatermarks, type WatermarkStrategy } from './watermarks.ts'

/** What one named source of a pipeline reads: its codec, event time and watermark strategy. */
export interface SourceOptions<I> {
  /** Validates each of its events; failures become dead letters with the codec's message. */
  readonly codec?: t.Decoder<unknown, I>
  /** Event time of one of its events, in ms. Without it, its events take the processing time they arrive at. */
  readonly eventTime?: (a: I) => number
  /** `boundedOutOfOrder(d)`, optionally with `idleTimeout(p)`; default: in order (`d = 0`). */
  readonly watermark?: WatermarkStrategy | readonly WatermarkStrategy[]
}

/** One named source of a pipeline, as `source` makes it (see `pipeline`). */
export interface SourceSpec<I> {
  readonly _tag: 'SourceSpec'
  readonly codec: t.Decoder<unknown, I> | undefined
  readonly eventTime: ((a: I) => number) | undefined
  readonly watermarks: ResolvedWatermarks
}

/**
 * Declares one named source of a pipeline: each source of `pipeline({ sources })` has its own
 * codec, event time and watermark, so a slow topic holds back the stages reading it instead of
 * making another topic's events late.
 *
 * @example
 * source({ codec: Click, eventTime: (c) => c.at, watermark: [boundedOutOfOrder('2s'), idleTimeout('30s')] })
 */
export const source = <I>(options: SourceOptions<I>): SourceSpec<I> => ({
  _tag: 'SourceSpec',
  codec: options.codec,
  eventTime: options.eventTime,
  watermarks: resolveWatermarks(options.watermark),
})

/** Named sources, by name. */
export type Sources = Readonly<Record<string, SourceSpec<any>>>

/** The event type of a source. */
export type EventOf<S> = S extends SourceSpec<infer I> ? I : never

/** The streams a multi-source pipeline's build function receives: one per source, typed by name. */
export type SourceStreams<S extends Sources> = { readonly [N in keyof S]: Stream<EventOf<S[N]>, Unkeyed> }

/**
 * A record of a multi-source pipeline as it enters: the source it belongs to and its raw event. The
 * harness wraps each input's records in one (`run` by input, `replay` by the log record's topic) and
 * each named source's stage takes its own.
 */
export interface Routed {
  readonly source: string
  readonly event: unknown
}

/**
 * A watermark for one named source, sent in among the routed records by a test driver
 * (`advanceWatermarkTo(t, { topic })`): that source's watermark rises to `watermark`, as if its
 * events had raised it; no event goes in.
 */
export interface RoutedWatermark {
  readonly source: string
  readonly event?: undefined
  readonly watermark: number
}

/** What a `NamedSource` stage node holds. */
export interface NamedSourceSpec extends SourceSpec<unknown> {
  readonly sourceName: string
}

/**
 * Routes a record of topic `topic` to the source of that name: the record to send in; `undefined`
 * for a topic no source reads (the caller counts it as skipped: a log may hold topics this pipeline
 * does not read, as a `--topic` run skips the others); a `'topic'` dead letter at `pos` for a record
 * with no topic, which cannot be routed at all.
 */
export function routeTo(names: ReadonlySet<string>, topic: string | undefined, event: unknown, pos: number): Routed | DeadLetter | undefined {
  if (topic !== undefined) return names.has(topic) ? { source: topic, event } : undefined
  return deadLetter('topic', 'source', pos, `a record with no topic cannot be routed to a source of this pipeline (its sources: ${[...names].join(', ')})`, event)
}
