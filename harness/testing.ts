/**
 * `weirjs/testing`: what a user's tests need to drive a pipeline deterministically. The virtual
 * clock, replay of recorded logs (one process, or a consumer group in virtual time), the log
 * format's readers and writers, and the collector that gathers a run's outputs and side outputs.
 */
export { VirtualClock } from './VirtualClock.ts'
export { replay } from './replay.ts'
export { replayPartitioned } from './partitioned.ts'
export { record } from './record.ts'
export { readLog, parseLine, toLogEntry, formatRecord, writeLog, isDeadLetter, DEFAULT_TOPIC } from './log.ts'
export { Collector } from './result.ts'
export { fileCheckpoints } from './checkpoint.ts'
export type { ReplayOptions, ReplayProgress } from './replay.ts'
export type { GroupSpec, MemberFailure, MembershipChange, PartitionedOptions, MemberResult, GroupResult } from './partitioned.ts'
export type { RecordOptions, RecordResult } from './record.ts'
export type { LogRecord, LogRecordInput, LogEntry, LogSource, ReadLogOptions, LogWriter, WriteLogOptions } from './log.ts'
export type { RunResult, RunMetrics, CollectorOptions } from './result.ts'
export type { Checkpoint, CheckpointStore } from './checkpoint.ts'
