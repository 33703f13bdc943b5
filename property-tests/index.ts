/**
 * weir's property kit: fast-check arbitraries for recorded event logs and the laws every pipeline
 * should obey under replay. Used by the project's own suites and exported for users.
 */
export { eventLog, malformedLine, shuffled } from './arbitraries.ts'
export type { EventLog, EventLogOptions, LogEvent } from './arbitraries.ts'
export { replayIsDeterministic, watermarksAreMonotone, everyLineIsAccountedFor, LawViolation } from './laws.ts'
export type { LawOptions } from './laws.ts'
