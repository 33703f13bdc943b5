/**
 * weir — typed reactive dataflow for TypeScript. This file is the public API; everything else is
 * internal.
 */

// The language: time, elements, stages, pipelines
export { toMillis } from './dsl/time.ts'
export type { Time, Duration, DurationUnit } from './dsl/time.ts'
export { data, watermark, isWatermark, END_OF_INPUT } from './dsl/element.ts'
export type { Data, Watermark, Element } from './dsl/element.ts'
export { deadLetter } from './dsl/sides.ts'
export type { DeadLetter, DeadLetterReason, Late, WindowBounds } from './dsl/sides.ts'
export type { Stream, Keyed, Key, Stage, Unkeyed } from './dsl/stream.ts'
export { map, filter, flatMap, keyBy, tap, merge } from './dsl/stages.ts'
export { boundedOutOfOrder, idleTimeout } from './dsl/watermarks.ts'
export type { WatermarkStrategy, BoundedOutOfOrder, IdleTimeout } from './dsl/watermarks.ts'
export { pipeline, isPipeline } from './dsl/pipeline.ts'
export type { Pipeline, PipelineOptions, AnyPipeline } from './dsl/pipeline.ts'
export { explain, plan } from './dsl/explain.ts'
export type { PlanStep } from './dsl/explain.ts'
export { compile, compileElements } from './dsl/compile.ts'
export type { CompileOptions } from './dsl/compile.ts'
export { pipe, flow } from 'fp-ts/lib/function.js'

// Runtime context and flow control
export { makeContext, FailFastError } from './operators/core/context.ts'
export type { RunContext, ContextOptions } from './operators/core/context.ts'
export { Credit } from './operators/core/credit.ts'
export { asyncMap, microbatch, buffer } from './dsl/flow.ts'
export type { Overflow } from './dsl/flow.ts'

// Running pipelines: sources, sinks, the live runner
export { run } from './harness/run.ts'
export type { RunOptions } from './harness/run.ts'
export { fromLog } from './connectors/sources.ts'
export type { Source, LogFileSource } from './connectors/sources.ts'
export { ndjsonSink, asyncSink } from './connectors/sinks.ts'
export type { Sink } from './connectors/sinks.ts'
