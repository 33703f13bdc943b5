import type * as t from 'io-ts'
import type { Stream, Unkeyed } from './stream.ts'
import { SOURCE, operatorNode, stream } from './stream.ts'
import type { NamedSourceSpec, Routed, SourceStreams, Sources } from './sources.ts'
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
  /**
   * A multi-source pipeline's sources, by name (its own codec, event time and watermarks are then
   * those of the routed records: none, arrival time, in order).
   */
  readonly sources?: Sources
}

/** Options of a pipeline with several named sources. */
export interface MultiSourceOptions<S extends Sources> {
  /** A name for `explain` and the CLI summary. */
  readonly name?: string
  /** Its sources, by name (`source({ codec, eventTime, watermark })` each). */
  readonly sources: S
}

/** A pipeline reading several named sources: `run` takes one input per source, a log routes by topic. */
export interface MultiSourcePipeline<S extends Sources, O, K = unknown> extends Pipeline<Routed, O, K> {
  readonly sources: S
}

/**
 * Defines a pipeline as a typed function from the source stream to the output stream.
 *
 * With several named sources (see `source`), the build function receives one stream per source,
 * by name, and `run` takes one input per source (a recorded log routes its records by topic; see
 * docs/sources.md).
 *
 * @example
 * const big = pipeline({ codec: Trip, eventTime: (t) => t.ts, watermark: boundedOutOfOrder('5s') },
 *   (s) => pipe(s, filter((t) => t.fare > 50)))
 * @example
 * const matched = pipeline({ sources: { clicks: source({ codec: Click, eventTime: (c) => c.at }),
 *   searches: source({ codec: Search, eventTime: (s) => s.at }) } },
 *   ({ clicks, searches }) => pipe(keyBy((c) => c.user)(clicks), windowJoin(keyBy((s) => s.user)(searches), { within: '1m' })))
 */
export function pipeline<S extends Sources, O, K>(options: MultiSourceOptions<S>, build: (sources: SourceStreams<S>) => Stream<O, K>): MultiSourcePipeline<S, O, K>
export function pipeline<I, O, K>(options: PipelineOptions<I>, build: (source: Stream<I, Unkeyed>) => Stream<O, K>): Pipeline<I, O, K>
export function pipeline(options: PipelineOptions<any> | MultiSourceOptions<Sources>, build: (source: any) => Stream<unknown, unknown>): any {
  if ('sources' in options) return multiSource(options, build)
  return {
    _tag: 'Pipeline',
    name: options.name ?? 'pipeline',
    codec: options.codec,
    eventTime: options.eventTime,
    watermarks: resolveWatermarks(options.watermark),
    output: build(stream(SOURCE)),
  }
}

/**
 * The one-source case underneath: records come in routed (`Routed`), and each named source is a
 * stage over them that takes its own records and admits them with its own codec, event time and
 * watermark (see `NamedSource` in the stage registry).
 */
function multiSource(options: MultiSourceOptions<Sources>, build: (sources: any) => Stream<unknown, unknown>): Pipeline<unknown, unknown, unknown> {
  const names = Object.keys(options.sources)
  if (names.length === 0) throw new TypeError('pipeline: sources is empty; give at least one source({ ... })')
  const streams: Record<string, Stream<unknown>> = {}
  for (const name of names) {
    const spec = options.sources[name]
    if (spec?._tag !== 'SourceSpec') throw new TypeError(`pipeline: source '${name}' is not a source({ ... })`)
    const node: NamedSourceSpec = { ...spec, sourceName: name }
    streams[name] = stream(operatorNode('NamedSource', `source ${name}`, [SOURCE], node))
  }
  return {
    _tag: 'Pipeline',
    name: options.name ?? 'pipeline',
    codec: undefined,
    eventTime: undefined,
    watermarks: resolveWatermarks(undefined),
    output: build(streams),
    sources: options.sources,
  }
}

/** The names of a multi-source pipeline's sources, or undefined for a one-source pipeline. */
export const sourceNames = (p: { readonly sources?: Sources }): ReadonlySet<string> | undefined =>
  p.sources === undefined ? undefined : new Set(Object.keys(p.sources))

/** Any pipeline, whatever its types (for tools that only inspect or run it: explain, the CLI). */
export type AnyPipeline = Pipeline<any, any, any>

export const isPipeline = (x: unknown): x is AnyPipeline =>
  typeof x === 'object' && x !== null && (x as { _tag?: unknown })._tag === 'Pipeline'
