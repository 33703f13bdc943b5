/**
 * `weirjs/testing`: what a user's tests need to drive a pipeline deterministically. The test driver
 * (`testPipeline`), marbles (`expectMarbles`) and matchers (`pipelineMatchers`), the virtual clock,
 * replay of recorded logs (one process, or a consumer group in virtual time), the diff of two
 * versions of a pipeline over one log, the log format's readers and writers, and the collector that
 * gathers a run's outputs and side outputs. See docs/testing-pipelines.md.
 */
export { VirtualClock } from './VirtualClock.ts'
export { replay } from './replay.ts'
export { diff } from './diff.ts'
export { replayPartitioned } from './partitioned.ts'
export { record } from './record.ts'
export { readLog, parseLine, toLogEntry, formatRecord, writeLog, isDeadLetter, DEFAULT_TOPIC } from './log.ts'
export { Collector } from './result.ts'
export { fileCheckpoints } from './checkpoint.ts'
export type { ReplayOptions, ReplayProgress } from './replay.ts'
export type { DiffResult, ResultDiff, ReplayableLog } from './diff.ts'
export type { GroupSpec, MemberFailure, MembershipChange, PartitionedOptions, MemberResult, GroupResult } from './partitioned.ts'
export type { RecordOptions, RecordResult } from './record.ts'
export type { LogRecord, LogRecordInput, LogEntry, LogSource, ReadLogOptions, LogWriter, WriteLogOptions } from './log.ts'
export type { RunResult, RunMetrics, CollectorOptions } from './result.ts'
export type { Checkpoint, CheckpointStore } from './checkpoint.ts'
export { testPipeline, PipelineDriver, Pending } from './driver.ts'
export type { Emitted, TimelineEntry, TestPipelineOptions, SendOptions, WatermarkOptions } from './driver.ts'
export { expectMarbles, runMarbles, parseMarble, MarbleMismatch } from './marbles.ts'
export type { MarbleSpec, MarbleResult } from './marbles.ts'
export { pipelineMatchers, describeEntry } from './matchers.ts'
