export { pgChanges, lsnToNumber, numberToLsn } from './cdc.ts'
export { createCdc, dropCdc } from './admin.ts'
export type { RowChange, PgChangesOptions, PgChangesSource, SlotLag } from './cdc.ts'
