import pg from 'pg'


/** The `pg` client config of a connection string or config. */
export const clientConfig = (c: string | pg.ClientConfig): pg.ClientConfig => (typeof c === 'string' ? { connectionString: c } : c)

/** Runs `f` with a fresh client (short catalog queries: the replication connection cannot run SQL while it streams). */
export async function withClient<T>(config: pg.ClientConfig, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config)
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** The primary-key columns of a table, in key order (empty when it has none). */
export async function primaryKeyOf(config: pg.ClientConfig, relationOid: number): Promise<string[]> {
  return withClient(config, async (c) => {
    const r = await c.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [relationOid],
    )
    return r.rows.map((x) => x.attname)
  })
}

/** The server's wal_sender_timeout in ms (0: none). */
export async function senderTimeoutOf(config: pg.ClientConfig): Promise<number> {
  return withClient(config, async (c) => {
    const t = await c.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'wal_sender_timeout'`)
    return Number(t.rows[0]?.setting ?? 0) || 0
  })
}

/** The slot's WAL figures: bytes the server keeps for it, and bytes written since its confirmed position. */
export interface SlotState {
  readonly retainedBytes: number
  readonly unconfirmedBytes: number
  /** `reserved`, `extended`, `unreserved` or `lost` (pg_replication_slots.wal_status). */
  readonly walStatus: string
}

export async function slotState(config: pg.ClientConfig, slot: string): Promise<SlotState | undefined> {
  return withClient(config, async (c) => {
    const r = await c.query<{ retained: string | null; unconfirmed: string | null; wal_status: string | null }>(
      `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) AS retained,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) AS unconfirmed, wal_status
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    )
    const row = r.rows[0]
    if (row === undefined) return undefined
    return { retainedBytes: Number(row.retained ?? 0), unconfirmedBytes: Number(row.unconfirmed ?? 0), walStatus: row.wal_status ?? 'lost' }
  })
}

/** The tables a publication publishes, as `schema.table`, sorted; undefined when there is no such publication. */
export async function publishedTables(config: pg.ClientConfig, publication: string): Promise<string[] | undefined> {
  return withClient(config, async (c) => {
    const pub = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication])
    if (pub.rowCount === 0) return undefined
    const r = await c.query<{ name: string }>(`SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [publication])
    return r.rows.map((x) => x.name)
  })
}

/** The position up to which WAL is flushed now. */
export async function walFlushedLsn(config: pg.ClientConfig): Promise<string> {
  return withClient(config, async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn')).rows[0].lsn)
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
  await withClient(clientConfig(connection), async (client) => {
    const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [o.publication])
    if (pub.rowCount === 0)
      await client.query(`CREATE PUBLICATION ${pg.escapeIdentifier(o.publication)} FOR TABLE ${o.tables.map((t) => t.split('.').map(pg.escapeIdentifier).join('.')).join(', ')}`)
    const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [o.slot])
    if (slot.rowCount === 0) await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [o.slot])
  })
}

/**
 * Drops a replication slot (an abandoned slot holds WAL forever) and, if given, its publication.
 * A slot a consumer is reading is not dropped: `dropCdc` rejects with a line naming the consumer's
 * process, and drops nothing; pass `terminate: true` to end that consumer's session first (it then
 * fails, or reconnects to find the slot gone).
 *
 * @example
 * await dropCdc(process.env.DATABASE_URL!, { slot: 'weir', publication: 'weir' })
 */
export async function dropCdc(
  connection: string | pg.ClientConfig,
  o: { readonly slot: string; readonly publication?: string; readonly terminate?: boolean },
): Promise<void> {
  await withClient(clientConfig(connection), async (client) => {
    const activePid = async () =>
      (await client.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active', [o.slot])).rows[0]?.pid
    // A consumer that has just closed its session still holds the slot for a moment.
    let pid = await activePid()
    for (let i = 0; i < 20 && pid !== undefined && o.terminate !== true; i++) {
      await new Promise((r) => setTimeout(r, 50))
      pid = await activePid()
    }
    if (pid !== undefined && o.terminate !== true)
      throw new Error(`dropCdc: the slot "${o.slot}" is in use by a running consumer (PID ${pid}): stop it first, or pass terminate: true to end its session; nothing was dropped`)
    // A terminated consumer may reconnect before the drop (pgChanges does, after 100 ms), and a
    // walsender releases its slot before its process is gone: a client-side terminate-then-drop lost
    // that race on a loaded machine every time. The server loops instead, dropping the slot the
    // moment it is free, terminating whoever holds it, for up to 10 s.
    const slot = pg.escapeLiteral(o.slot)
    await client.query(`DO $drop$
      DECLARE holder int;
      BEGIN
        FOR i IN 1..10000 LOOP
          SELECT active_pid INTO holder FROM pg_replication_slots WHERE slot_name = ${slot};
          IF NOT FOUND THEN RETURN; END IF;
          IF holder IS NULL THEN
            BEGIN
              PERFORM pg_drop_replication_slot(${slot});
              RETURN;
            EXCEPTION WHEN object_in_use THEN NULL;
            END;
          ELSE
            PERFORM pg_terminate_backend(holder);
          END IF;
          PERFORM pg_sleep(0.001);
        END LOOP;
        RAISE EXCEPTION 'the slot % stayed in use for 10 s after its sessions were ended', ${slot};
      END $drop$`)
    if (o.publication !== undefined) await client.query(`DROP PUBLICATION IF EXISTS ${pg.escapeIdentifier(o.publication)}`)
  })
}
