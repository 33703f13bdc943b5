import pg from 'pg'
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication'
import type { Change } from '../../dsl/change.ts'
import type { Key } from '../../dsl/stream.ts'
import { deadLetter, type DeadLetter } from '../../dsl/sides.ts'
import type { PulledRecord, PulledSource } from '../sources.ts'

/**
 * One row change captured from PostgreSQL: a `Change` keyed by the row's primary key (one column:
 * its value, a number for integer columns up to int4 and a string otherwise; several: a JSON array
 * of them; a table without a primary key: its replica identity columns), with the table it happened in and its WAL positions.
 * `before` is the old row of an UPDATE or DELETE when the table has `REPLICA IDENTITY FULL`.
 */
export interface RowChange<V = Record<string, unknown>> extends Change<Key, V> {
  /** `schema.table`. */
  readonly table: string
  /** WAL position of this change (`X/Y`). */
  readonly lsn: string
  /** End of the commit of its transaction: changes arrive in commit order, a transaction at a time. */
  readonly commitLsn: string
}

/** Options of `pgChanges`. */
export interface PgChangesOptions {
  /** A `pg` connection string or client config (the replication connection is derived from it). */
  readonly connection: string | pg.ClientConfig
  /** The logical replication slot (pgoutput): the server keeps changes there until acknowledged. */
  readonly slot: string
  /** The publication naming the captured tables (see `createCdc`). */
  readonly publication: string
  /** Changes held in memory before the replication stream is paused (default 4096). */
  readonly maxBuffered?: number
  /** End of input after this long without a change; default: never (until `signal` aborts). */
  readonly stopWhenIdleMs?: number
  readonly signal?: AbortSignal
}

/** `X/Y` (hex) as a number, for comparing WAL positions (exact below 2^53 bytes of WAL). */
export const lsnToNumber = (lsn: string): number => {
  const slash = lsn.indexOf('/')
  return parseInt(lsn.slice(0, slash), 16) * 0x1_0000_0000 + parseInt(lsn.slice(slash + 1), 16)
}

/** Primary-key columns by `schema.table`; pgoutput's own key columns are the replica identity (all columns with FULL). */
type PrimaryKeys = ReadonlyMap<string, readonly string[]>

const keyOf = (keys: PrimaryKeys, rel: Pgoutput.MessageRelation, row: Record<string, unknown>): Key => {
  const known = keys.get(`${rel.schema}.${rel.name}`) ?? rel.keyColumns
  // No primary key and no replica identity (an append-only table, whose UPDATEs and DELETEs Postgres
  // refuses to publish): the whole row is the key, so distinct rows stay distinct rows in a view.
  const cols = known.length > 0 ? known : rel.columns.map((c) => c.name)
  if (cols.length === 1) {
    const v = row[cols[0]]
    // A Date's String() drops its milliseconds: two rows 1 ms apart would share a key. (pg's Date
    // has no microseconds at all: keys of timestamptz columns are exact to the millisecond.)
    return typeof v === 'number' ? v : v instanceof Date ? v.toISOString() : String(v)
  }
  return JSON.stringify(cols.map((c) => row[c] ?? null))
}

/**
 * Streams the INSERTs, UPDATEs and DELETEs of a publication's tables from a logical replication
 * slot (pgoutput) as `RowChange`s, in commit order, a whole transaction at a time: a source `run`
 * pulls with its credit (the replication stream is paused while `maxBuffered` changes wait).
 *
 * Acknowledgement is manual and late: the slot's confirmed position moves to a transaction's
 * commit only when `run` acknowledges the transaction's last change (after the sink wrote what it
 * derived, or at a checkpoint that covers it). A restarted source therefore resumes at the first
 * transaction not acknowledged: nothing is lost, and transactions at or before an acknowledged
 * commit that the server sends again are skipped, so nothing is applied twice. Keepalives are
 * answered with the last acknowledged position, never a later one.
 *
 * Values come as pgoutput decodes them: `int2/int4` as numbers, `int8`/`numeric` as strings,
 * `timestamptz` as Date; give the pipeline an io-ts codec to normalise them. A TRUNCATE fails the
 * source (it is not a row change; rebuild the view instead).
 *
 * @example
 * const changes = pgChanges({ connection: process.env.DATABASE_URL!, slot: 'weir', publication: 'weir' })
 * await run(accountsView, changes, { sink })
 */
export function pgChanges<V = Record<string, unknown>>(o: PgChangesOptions): PulledSource<RowChange<V>> {
  const config: pg.ClientConfig = typeof o.connection === 'string' ? { connectionString: o.connection } : o.connection
  const maxBuffered = o.maxBuffered ?? 4096
  const service = new LogicalReplicationService(config, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } })
  const ready: PulledRecord<RowChange<V>>[] = []
  // A transaction's changes until its commit; an update the source cannot give whole is a dead letter in its place.
  let txn: (RowChange<V> | Unsendable)[] = []
  let failure: unknown
  let acked = '0/0'
  let skipThrough = -1
  let started = false
  let keys: PrimaryKeys = new Map()
  /** The server's wal_sender_timeout for this connection, in ms (0: none). */
  let senderTimeoutMs = 0
  let lastData = Date.now()
  let wakeReader: (() => void) | undefined
  let wakeStream: (() => void) | undefined
  const wake = () => {
    wakeReader?.()
    wakeReader = undefined
  }

  service.on('data', async (lsn: string, msg: Pgoutput.Message) => {
    switch (msg.tag) {
      case 'begin':
        txn = []
        return
      case 'insert':
        txn.push(change<V>(keys, 'upsert', msg.relation, lsn, undefined, msg.new))
        return
      case 'update':
        updateOf<V>(keys, msg, lsn, txn)
        return
      case 'delete':
        txn.push(change<V>(keys, 'delete', msg.relation, lsn, msg.old ?? undefined, undefined, msg.key ?? msg.old ?? {}))
        return
      case 'relation':
        // A table first seen in this session, e.g. added to the publication while the source runs:
        // read its primary key now (the stream waits), or its rows would be keyed by the replica
        // identity, every column under FULL.
        if (!keys.has(`${msg.schema}.${msg.name}`)) keys = (await catalog(config, o.publication)).keys
        return
      case 'truncate':
        failure = new Error(`pgChanges: TRUNCATE of ${msg.relations.map((r) => `${r.schema}.${r.name}`).join(', ')} is not a row change; rebuild the view`)
        wake()
        return
      case 'commit': {
        const commitLsn = msg.commitEndLsn ?? lsn
        const done = txn
        txn = []
        // Sent again after a restart although already acknowledged (a checkpoint covers it): skip.
        if (done.length === 0 || lsnToNumber(commitLsn) <= skipThrough) return
        for (let i = 0; i < done.length; i++) {
          // Only a transaction's last change carries the position to acknowledge.
          const token = i === done.length - 1 ? commitLsn : null
          const d = done[i]
          ready.push(d instanceof Unsendable ? { value: undefined as unknown as RowChange<V>, pos: 0, token, rejected: d.rejected } : { value: { ...d, commitLsn }, pos: 0, token })
        }
        wake()
        if (ready.length >= maxBuffered) {
          // Paused, the stream reads nothing, so the server's keepalives go unanswered and it would
          // end the connection after wal_sender_timeout: say we are alive (at the acknowledged
          // position, never later) well within it.
          const beat = senderTimeoutMs > 0 ? setInterval(() => void service.acknowledge(acked).catch(() => undefined), Math.max(100, senderTimeoutMs / 3)) : undefined
          try {
            await new Promise<void>((resolve) => (wakeStream = resolve))
          } finally {
            clearInterval(beat)
          }
        }
        return
      }
      default:
        return
    }
  })
  service.on('heartbeat', async (_lsn: string, _ts: number, shouldRespond: boolean) => {
    if (shouldRespond) await service.acknowledge(acked)
  })
  service.on('error', (e: Error) => {
    failure = e
    wake()
  })

  const start = async () => {
    started = true
    const found = await catalog(config, o.publication)
    keys = found.keys
    senderTimeoutMs = found.senderTimeoutMs
    service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [o.publication] }), o.slot).catch((e: unknown) => {
      if (!service.isStop()) {
        failure = e
        wake()
      }
    })
  }

  return {
    _tag: 'Pulled',
    identity: `postgres slot ${o.slot} publication ${o.publication}`,
    async pull(max) {
      if (!started) await start()
      for (;;) {
        if (failure !== undefined) throw failure
        if (ready.length > 0) {
          lastData = Date.now()
          const out = ready.splice(0, max)
          if (ready.length < maxBuffered && wakeStream !== undefined) {
            wakeStream()
            wakeStream = undefined
          }
          return out
        }
        if (o.signal?.aborted) return undefined
        if (o.stopWhenIdleMs !== undefined && Date.now() - lastData >= o.stopWhenIdleMs) return undefined
        await new Promise<void>((resolve) => {
          wakeReader = resolve
          setTimeout(resolve, 50)
        })
      }
    },
    async ack(tokens) {
      let last: string | undefined
      for (const t of tokens) if (typeof t === 'string') last = t
      if (last === undefined) return
      if (lsnToNumber(last) > skipThrough) skipThrough = lsnToNumber(last)
      acked = last
      // Before the stream starts (a checkpoint re-acknowledging on restore), remember it only.
      if (started) await service.acknowledge(last)
    },
    async close() {
      wakeStream?.()
      await service.stop()
    },
  }
}

function change<V>(
  keys: PrimaryKeys,
  op: 'upsert' | 'delete',
  rel: Pgoutput.MessageRelation,
  lsn: string,
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  keyRow?: Record<string, unknown>,
): RowChange<V> {
  const c: { -readonly [P in keyof RowChange<V>]: RowChange<V>[P] } = {
    op,
    key: keyOf(keys, rel, (after ?? keyRow ?? before)!),
    table: `${rel.schema}.${rel.name}`,
    lsn,
    commitLsn: '',
  }
  if (before !== undefined) c.before = before as V
  if (after !== undefined) c.after = after as V
  return c
}

/**
 * An UPDATE as changes, added to `txn`: a delete of the old key first when the update moved the row to another
 * primary key (or a view would keep the old row), then the upsert. A column left unchanged and
 * stored out of line (TOAST) comes without its value unless the table has REPLICA IDENTITY FULL:
 * such an update cannot be given whole, and is a dead letter saying so, not a row missing a column.
 */
function updateOf<V>(keys: PrimaryKeys, msg: Pgoutput.MessageUpdate, lsn: string, txn: (RowChange<V> | Unsendable)[]): void {
  const rel = msg.relation
  if (rel.columns.some((c) => msg.new[c.name] === undefined)) {
    const table = `${rel.schema}.${rel.name}`
    const unsent = rel.columns.filter((c) => msg.new[c.name] === undefined).map((c) => c.name)
    const why = `pgChanges: an UPDATE of ${table} left ${unsent.join(', ')} unchanged and stored out of line (TOAST), and the WAL does not carry such values: set REPLICA IDENTITY FULL on ${table}`
    txn.push(new Unsendable(deadLetter('parse', 'source', 0, why, msg.new)))
    return
  }
  const oldRow = msg.key ?? msg.old
  if (oldRow !== null && keyOf(keys, rel, oldRow) !== keyOf(keys, rel, msg.new))
    txn.push(change<V>(keys, 'delete', rel, lsn, msg.old ?? undefined, undefined, oldRow))
  txn.push(change<V>(keys, 'upsert', rel, lsn, msg.old ?? undefined, msg.new))
}

/** A change the source cannot give whole: a dead letter in its place in the transaction. */
class Unsendable {
  constructor(readonly rejected: DeadLetter) {}
}

/** What the source reads from the catalog at start: primary keys, and the server's replication timeout. */
async function catalog(config: pg.ClientConfig, publication: string): Promise<{ keys: PrimaryKeys; senderTimeoutMs: number }> {
  const client = new pg.Client(config)
  await client.connect()
  try {
    const t = await client.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout'`)
    return { keys: await primaryKeys(client, publication), senderTimeoutMs: Number(t.rows[0]?.setting ?? 0) || 0 }
  } finally {
    await client.end()
  }
}

async function primaryKeys(client: pg.Client, publication: string): Promise<PrimaryKeys> {
  const r = await client.query<{ schemaname: string; tablename: string; attname: string }>(
    `SELECT pt.schemaname, pt.tablename, a.attname
       FROM pg_publication_tables pt
       JOIN pg_namespace n ON n.nspname = pt.schemaname
       JOIN pg_class c ON c.relname = pt.tablename AND c.relnamespace = n.oid
       JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
      WHERE pt.pubname = $1
      ORDER BY pt.schemaname, pt.tablename, array_position(i.indkey::int2[], a.attnum)`,
    [publication],
  )
  const keys = new Map<string, string[]>()
  for (const row of r.rows) {
    const name = `${row.schemaname}.${row.tablename}`
    const cols = keys.get(name)
    if (cols === undefined) keys.set(name, [row.attname])
    else cols.push(row.attname)
  }
  return keys
}

/**
 * Creates the publication and the pgoutput replication slot `pgChanges` reads, if they do not
 * exist yet. Tables need a primary key; set `REPLICA IDENTITY FULL` on them for before images.
 *
 * @example
 * await createCdc(process.env.DATABASE_URL!, { slot: 'weir', publication: 'weir', tables: ['accounts'] })
 */
export async function createCdc(
  connection: string | pg.ClientConfig,
  o: { readonly slot: string; readonly publication: string; readonly tables: readonly string[] },
): Promise<void> {
  const client = new pg.Client(typeof connection === 'string' ? { connectionString: connection } : connection)
  await client.connect()
  try {
    const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [o.publication])
    if (pub.rowCount === 0)
      await client.query(`CREATE PUBLICATION ${pg.escapeIdentifier(o.publication)} FOR TABLE ${o.tables.map((t) => t.split('.').map(pg.escapeIdentifier).join('.')).join(', ')}`)
    const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [o.slot])
    if (slot.rowCount === 0) await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [o.slot])
  } finally {
    await client.end()
  }
}

/** Drops a replication slot (an abandoned slot holds WAL forever) and, if given, its publication. */
export async function dropCdc(connection: string | pg.ClientConfig, o: { readonly slot: string; readonly publication?: string }): Promise<void> {
  const client = new pg.Client(typeof connection === 'string' ? { connectionString: connection } : connection)
  await client.connect()
  try {
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [o.slot])
    if (o.publication !== undefined) await client.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(o.publication)}`)
  } finally {
    await client.end()
  }
}
