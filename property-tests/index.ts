/**
 * weir's property kit: fast-check arbitraries for recorded event logs and the laws every pipeline
 * should obey under replay. Used by the project's own suites and exported for users.
 */
export { eventLog, malformedLine, shuffled, reorderedWithin } from './arbitraries.ts'
export type { EventLog, EventLogOptions, LogEvent } from './arbitraries.ts'
export {
  replayIsDeterministic,
  watermarksAreMonotone,
  everyLineIsAccountedFor,
  orderInsensitive,
  changelogMatchesFinal,
  changelogTable,
  LawViolation,
} from './laws.ts'
export type { LawOptions, Finalize } from './laws.ts'
