export { pgChanges, createCdc, dropCdc, lsnToNumber } from './cdc.ts'
export type { RowChange, PgChangesOptions } from './cdc.ts'
