/**
 * What a failed replication session means for `pgChanges`: a failure the operator must act on
 * (one line saying what to do), or a lost connection worth trying again (a restart, a failover).
 */

/** `fatal`: retrying cannot help; `busy`: the slot is held by another session; `lost`: reconnect. */
export type SessionFailure =
  | { readonly kind: 'fatal'; readonly message: string }
  | { readonly kind: 'busy'; readonly message: string }
  | { readonly kind: 'lost'; readonly message: string }

/** PostgreSQL's error codes, where its messages are not enough. */
const UNDEFINED_OBJECT = '42704'
const OBJECT_IN_USE = '55006'
const OBJECT_NOT_IN_PREREQUISITE_STATE = '55000'
const INSUFFICIENT_PRIVILEGE = '42501'
const INVALID_PASSWORD = '28P01'
const INVALID_AUTHORIZATION = '28000'
const INVALID_CATALOG_NAME = '3D000'

/** Classifies why a session failed to start or ended, naming the source by its slot. */
export function sessionFailure(e: unknown, slot: string, publication: string): SessionFailure {
  const err = e as { code?: string; message?: string; detail?: string; severity?: string } | undefined
  // A SQL state only on the server's own errors (a socket's EPIPE has a code of five letters too).
  const code = err?.severity !== undefined ? err.code : undefined
  const text = err?.message ?? String(e)
  const who = `pgChanges (slot "${slot}")`
  if (code === UNDEFINED_OBJECT && /replication slot/.test(text))
    return { kind: 'fatal', message: `${who}: the replication slot does not exist: create it (createCdc(connection, { slot: '${slot}', publication: '${publication}', tables })) and run again` }
  if (code === UNDEFINED_OBJECT && /publication/.test(text))
    return { kind: 'fatal', message: `${who}: the publication "${publication}" does not exist: create it (createCdc) or give the right name` }
  if (code === OBJECT_IN_USE)
    return { kind: 'busy', message: `${who}: the slot is in use by another consumer (${text.replace(/^.*(PID \d+).*$/, '$1')}): stop that consumer, or give this source a slot of its own` }
  if (code === OBJECT_NOT_IN_PREREQUISITE_STATE && /invalidated|cannot read from logical replication slot/.test(`${text} ${err?.detail ?? ''}`))
    return {
      kind: 'fatal',
      message: `${who}: the slot was invalidated (it retained more WAL than max_slot_wal_keep_size allows), so changes were lost: drop it (dropCdc), create it again (createCdc) and rebuild the view from the tables`,
    }
  // A session that connected just as the server began to shut down: its WAL sender refuses the
  // START_REPLICATION (SQL state XX000 or 55000, by version); the server is on its way back.
  if (/WAL sender is in stopping mode/.test(text)) return { kind: 'lost', message: text }
  if (code === INSUFFICIENT_PRIVILEGE || code === INVALID_PASSWORD || code === INVALID_AUTHORIZATION || code === INVALID_CATALOG_NAME)
    return { kind: 'fatal', message: `${who}: ${text}` }
  // Anything else with a SQL state is the server refusing what we asked (fatal), except the states
  // of a server going down or coming up (57P01 admin shutdown, 57P03 cannot connect now, ...).
  if (typeof code === 'string' && code.length === 5 && !code.startsWith('57') && !code.startsWith('08'))
    return { kind: 'fatal', message: `${who}: ${text}` }
  return { kind: 'lost', message: text }
}
