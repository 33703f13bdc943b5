/**
 * weir's property kit: fast-check arbitraries for recorded event logs and the laws every pipeline
 * should obey under replay. Used by the project's own suites and exported for users.
 */
export { eventLog, malformedLine, shuffled, reorderedWithin, redelivered, stateValue } from './arbitraries.ts'
export type { EventLog, EventLogOptions, EventShape, LogEvent } from './arbitraries.ts'
export {
  replayIsDeterministic,
  watermarksAreMonotone,
  everyLineIsAccountedFor,
  orderInsensitive,
  changelogMatchesFinal,
  everyInputIsAccountedFor,
  restoreMatchesUninterrupted,
  changelogTable,
  idempotentUnderRedelivery,
  canonical,
  LawViolation,
} from './laws.ts'
// The brute-force model of the window semantics (docs/semantics.md, "Windows"), to check a window pipeline
// against: for a log of (key, time, value) events, every window's events and value, late events
// and the 'updates' table.
export { oracle as windowOracle, sessionsOf, valueOf, idOf } from './windowOracle.ts'
export type { OEvent, OValue, OEmission, OLate, OracleCoverage, OracleResult } from './windowOracle.ts'
export type { LawOptions, Finalize, AccountingOptions, RestoreOptions } from './laws.ts'
