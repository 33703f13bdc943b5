/**
 * weir — typed reactive dataflow for TypeScript. This file is the public API; everything else is
 * internal.
 */

// The language: time, elements, stages, pipelines
export { toMillis } from './dsl/time.ts'
export type { Time, Duration, DurationUnit } from './dsl/time.ts'
export { data, watermark, isWatermark, END_OF_INPUT } from './dsl/element.ts'
export type { Data, Watermark, Element, Batch, SourceRecord } from './dsl/element.ts'
export { deadLetter } from './dsl/sides.ts'
export type { DeadLetter, DeadLetterReason, Late, WindowBounds } from './dsl/sides.ts'
export type { Stream, Keyed, Key, Stage, Unkeyed } from './dsl/stream.ts'
export { map, filter, flatMap, keyBy, tap, merge } from './dsl/stages.ts'
export { boundedOutOfOrder, idleTimeout } from './dsl/watermarks.ts'
export type { WatermarkStrategy, BoundedOutOfOrder, IdleTimeout } from './dsl/watermarks.ts'
export { pipeline, isPipeline } from './dsl/pipeline.ts'
export type { Pipeline, PipelineOptions, AnyPipeline, MultiSourceOptions, MultiSourcePipeline } from './dsl/pipeline.ts'
export { source } from './dsl/sources.ts'
export type { SourceOptions, SourceSpec, Sources, SourceStreams, EventOf, Routed } from './dsl/sources.ts'
export { explain } from './dsl/explain.ts'
export { plan } from './dsl/plan.ts'
export type { PlanStep } from './dsl/plan.ts'
export { compile, compileElements } from './dsl/compile.ts'
export type { CompileOptions, ElementsOptions } from './dsl/compile.ts'
export { pipe, flow } from 'fp-ts/lib/function.js'

// Runtime context and flow control
export { makeContext, FailFastError } from './operators/core/context.ts'
export type { RunContext, ContextOptions } from './operators/core/context.ts'
export { Credit } from './operators/core/Credit.ts'
export { asyncMap, microbatch, buffer } from './dsl/flow.ts'
export type { Overflow } from './dsl/flow.ts'

// Running pipelines: sources, sinks, the live runner
export { run } from './harness/run.ts'
export type { RunOptions } from './harness/run.ts'
export { fromLog } from './connectors/sources.ts'
export type { Source, LogFileSource } from './connectors/sources.ts'
export { ndjsonSink, asyncSink } from './connectors/sinks.ts'
export type { Sink } from './connectors/sinks.ts'

// Tables, changelogs and joins (Change is shared with windows and CDC)
export { upsert, remove } from './dsl/change.ts'
export type { Change } from './dsl/change.ts'
export { table } from './dsl/tables.ts'
export { windowJoin, tableJoin, lookupJoin, tableTableJoin } from './dsl/joins.ts'
export { temporalJoin } from './dsl/temporalJoin.ts'
export type { Joined, JoinType, JoinedAs, TableSource, LookupJoinOptions } from './dsl/joins.ts'
export { dedupe } from './dsl/dedupe.ts'
export { Table, ReadView, Aggregate, EventLog, WaitTimeoutError } from './operators/tables/index.ts'
export type { ReadonlyTable, TableOptions, TableSnapshot, Projection, AggregateSnapshot, Logged } from './operators/tables/index.ts'

// Event-time windows and aggregations
export { tumbling, hopping, sliding, session, window, aggregate, windowId } from './dsl/windows.ts'
export type {
  WindowAssigner,
  Tumbling,
  Hopping,
  Sliding,
  Session,
  EmitMode,
  WindowOptions,
  Windowed,
  WindowResult,
  WindowOutput,
} from './dsl/windows.ts'
export { count, sum, min, max, mean, fromMonoid, aggregator } from './dsl/aggregations.ts'
export type { Aggregator, MergeableAggregator, AggregateSpec, AggregationLike, InputOf, ResultOf } from './dsl/aggregations.ts'

// Complex event processing: patterns and standing queries
export { pattern, match, MAX_PATTERN_STEPS } from './dsl/patterns.ts'
export type {
  Pattern,
  NegatedPattern,
  PatternStart,
  PatternSpec,
  PatternStep,
  PositiveStep,
  NegativeStep,
  StepPredicate,
  Matched,
  Contiguity,
  QuantifierOptions,
  SkipStrategy,
  Match,
  Timeout,
  MatchOptions,
  MatchSpec,
} from './dsl/patterns.ts'
export { QueryIndex } from './operators/patterns/queryIndex.ts'
export { matchQueries } from './dsl/matchQueries.ts'
export type { Query, QueryId, Scalar } from './operators/patterns/queryIndex.ts'
export type { QueryHits, MatchQueriesOptions } from './dsl/matchQueries.ts'

// Harness: virtual time, the recorded-log format, record / replay, run results
export { VirtualClock } from './harness/VirtualClock.ts'
export { readLog, parseLine, toLogEntry, formatRecord, writeLog, isDeadLetter, DEFAULT_TOPIC } from './harness/log.ts'
export type { LogRecord, LogRecordInput, LogEntry, LogSource, ReadLogOptions, LogWriter, WriteLogOptions } from './harness/log.ts'
export { json, avro, readAvroSchema, msgpack, encodingNamed, ENCODING_NAMES, MissingPeerError } from './connectors/encodings/index.ts'
export type { Encoding, EncodingName, AvroSchema } from './connectors/encodings/index.ts'
export { replay } from './harness/replay.ts'
export type { ReplayOptions, ReplayProgress, ReplayResult } from './harness/replay.ts'
export type { StateAt, StageState, StageContents, OpenWindow, PendingMatch, JoinBuffer, HeldEvent, TableVersion } from './harness/inspect.ts'
export { diff } from './harness/diff.ts'
export type { DiffResult, ResultDiff, ReplayableLog } from './harness/diff.ts'
export { record } from './harness/record.ts'
export type { RecordOptions, RecordResult } from './harness/record.ts'
export { Collector } from './harness/result.ts'
export type { RunResult, RunMetrics, CollectorOptions } from './harness/result.ts'

// Beyond one process: partitions, consumer groups in virtual time, checkpoints. The Redis Streams
// connectors are in `weirjs/redis` and PostgreSQL change data capture in `weirjs/postgres`, so that
// only their users need ioredis or pg installed.
export { isPulledSource } from './connectors/sources.ts'
export type { PulledSource, PulledRecord } from './connectors/sources.ts'
export { partitionOf, ownerOf, assignPartitions, globToRegExp } from './connectors/partition.ts'
export { fileCheckpoints, redisCheckpoints } from './harness/checkpoint.ts'
export type { Checkpoint, CheckpointStore, CheckpointOptions, RedisKV } from './harness/checkpoint.ts'
export { replayPartitioned } from './harness/partitioned.ts'
export type { GroupSpec, MemberFailure, MembershipChange, PartitionedOptions, MemberResult, GroupResult } from './harness/partitioned.ts'
export type { Stateful } from './operators/core/machine.ts'
export { MachineRegistry } from './operators/core/context.ts'
