/**
 * pgChanges at its edges (found by a review, each failing before its fix): an UPDATE that moves a
 * row to another primary key, one whose unchanged TOASTed column the WAL does not carry, keys of
 * timestamptz columns, a checkpoint due in the middle of a transaction, and a stream paused longer
 * than the server's replication timeout, a table added to the publication while it runs, and a
 * connection cut twice inside a transaction.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../../harness/run.ts'
import { fileCheckpoints } from '../../harness/checkpoint.ts'
import { keyBy } from '../../dsl/stages.ts'
import { aggregate, tumbling, window } from '../../dsl/windows.ts'
import { count } from '../../dsl/aggregations.ts'
import { asyncSink } from '../sinks.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { Key, Stream } from '../../dsl/stream.ts'
import { DATABASE_URL, missing, unique } from '../testing/servers.ts'
import { createCdc, dropCdc, pgChanges, type RowChange } from './cdc.ts'

const identity = pipeline({ name: 'changes' }, (s: Stream<RowChange>) => s)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Applies a changelog to a map, as a materialized view (or `table()`) does. */
const materialize = (changes: readonly RowChange[]) => {
  const rows = new Map<Key, unknown>()
  for (const c of changes) {
    if (c.op === 'delete') rows.delete(c.key)
    else rows.set(c.key, c.after)
  }
  return rows
}

describe.skipIf(missing('DATABASE_URL'))('pgChanges at its edges (real PostgreSQL)', () => {
  let sql: pg.Client
  const created: { ns: string; tables: string[] }[] = []
  beforeAll(async () => {
    sql = new pg.Client({ connectionString: DATABASE_URL })
    await sql.connect()
  })
  // After each test, not all: the server has max_replication_slots for every file running at once.
  afterEach(async () => {
    for (const { ns, tables } of created.splice(0)) {
      await dropCdc(DATABASE_URL!, { slot: ns, publication: ns, terminate: true })
      for (const t of tables) await sql.query(`DROP TABLE IF EXISTS ${t}`)
    }
  })
  afterAll(async () => {
    await sql.end()
  })

  /** Fresh tables, publication and slot; `published` are the tables in the publication at first. */
  const setup = async (ddl: (t: (name: string) => string) => string[], published: string[], all: string[] = published) => {
    const ns = unique('cdcedge')
    const t = (name: string) => `${ns}_${name}`
    created.push({ ns, tables: all.map(t) })
    for (const s of ddl(t)) await sql.query(s)
    await createCdc(DATABASE_URL!, { slot: ns, publication: ns, tables: published.map(t) })
    const changes = (o: { stopWhenIdleMs?: number; maxBuffered?: number; connection?: pg.ClientConfig; timestamps?: 'date' | 'text'; signal?: AbortSignal } = {}) =>
      pgChanges({
        connection: o.connection ?? DATABASE_URL!,
        slot: ns,
        publication: ns,
        stopWhenIdleMs: o.signal === undefined ? (o.stopWhenIdleMs ?? 700) : undefined,
        maxBuffered: o.maxBuffered,
        timestamps: o.timestamps,
        signal: o.signal,
      })
    return { t, ns, changes }
  }

  it('an UPDATE that changes the primary key removes the old key from the view (no stale row left behind)', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY, owner text NOT NULL)`], ['acc'])
    await sql.query(`INSERT INTO ${t('acc')} VALUES (1, 'ann'), (2, 'bob')`)
    await sql.query(`UPDATE ${t('acc')} SET id = 10 WHERE id = 1`)
    const { out } = await run(identity, changes())
    const view = materialize(out)
    const db = await sql.query(`SELECT id, owner FROM ${t('acc')} ORDER BY id`)
    // The table holds rows 2 and 10; the changelog must leave the same keys (row 1 is gone).
    expect([...view.keys()].sort()).toEqual(db.rows.map((r) => r.id as number).sort())
  })

  it('an UPDATE that leaves a TOASTed column unchanged (REPLICA IDENTITY DEFAULT) is a dead letter naming the fix, not a row missing the column', async () => {
    const { t, changes } = await setup(
      (t) => [
        `CREATE TABLE ${t('doc')} (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL)`,
        // Stored out of line, uncompressed: pgoutput sends an unchanged body as 'u' (unchanged TOAST).
        `ALTER TABLE ${t('doc')} ALTER COLUMN body SET STORAGE EXTERNAL`,
      ],
      ['doc'],
    )
    const body = 'x'.repeat(10_000)
    await sql.query(`INSERT INTO ${t('doc')} VALUES (1, 'draft', $1)`, [body])
    await sql.query(`UPDATE ${t('doc')} SET title = 'final' WHERE id = 1`)
    const { out, deadLetters } = await run(identity, changes())
    const updates = out.filter((c) => (c.after as { title?: string } | undefined)?.title === 'final')
    // "the row for key is now after", and nothing is lost silently: the update either carries the
    // unchanged body, or is reported (dead letter) instead of emitting a row whose body vanished.
    for (const c of updates) {
      const got = (c.after as { body?: unknown }).body
      expect(typeof got).toBe('string')
      expect(got === body).toBe(true)
    }
    expect(updates.length + deadLetters.length).toBe(1)
    expect(deadLetters.map((d) => d.message)).toEqual([expect.stringMatching(/left body unchanged .*REPLICA IDENTITY FULL/)])
  })


  it('rows whose timestamptz primary keys are 1 µs apart keep distinct keys (the server\'s text of the key)', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('ev')} (at timestamptz PRIMARY KEY, v int NOT NULL)`], ['ev'])
    await sql.query(`INSERT INTO ${t('ev')} VALUES ('2024-01-01 00:00:00.000001+00', 1), ('2024-01-01 00:00:00.000002+00', 2)`)
    const { out } = await run(identity, changes())
    expect(out.map((c) => c.key)).toEqual(['2024-01-01 00:00:00.000001+00', '2024-01-01 00:00:00.000002+00'])
  })
  it('a checkpoint taken in the middle of a transaction does not make a restarted run apply its first rows twice', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('item')} (id int PRIMARY KEY)`], ['item'])
    await sql.query(`INSERT INTO ${t('item')} SELECT g FROM generate_series(1, 10) g`)
    const counted = pipeline({ name: 'countRows', eventTime: () => 0 }, (s: Stream<RowChange>) =>
      pipe(s, keyBy(() => 'all'), window(tumbling('1d'), { emit: 'updates' }), aggregate(count)),
    )
    const store = fileCheckpoints(join(mkdtempSync(join(tmpdir(), 'weir-cdc-')), 'cp.json'))
    let writes = 0
    // The worker dies (its sink fails) after a checkpoint was saved part-way through the transaction.
    const dying = asyncSink(async () => {
      if (++writes === 6) throw new Error('worker died')
    })
    await expect(run(counted, changes(), { sink: dying, highWaterMark: 2, checkpoint: { store, everyEvents: 3 } })).rejects.toThrow('worker died')
    const restarted = await run(counted, changes(), { checkpoint: { store, everyEvents: 3 } })
    const last = restarted.out[restarted.out.length - 1] as { after: { value: number } }
    // "Restoring from one and finishing gives the same output as an uninterrupted run": 10 rows.
    expect(last.after.value).toBe(10)
  })
  it('a replication stream paused for a slow sink keeps its connection (answers keepalives while paused)', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('q')} (id int PRIMARY KEY)`], ['q'])
    for (let i = 0; i < 12; i++) await sql.query(`INSERT INTO ${t('q')} VALUES (${i})`)
    // wal_sender_timeout is 60 s by default; 1 s here so a 3 s stall of the sink shows it.
    const connection: pg.ClientConfig = { connectionString: DATABASE_URL, options: '-c wal_sender_timeout=1000' }
    const written: Key[] = []
    const slow = asyncSink<RowChange>(async (c) => {
      if (written.length === 3) await sleep(3000)
      written.push(c.key)
    })
    // highWaterMark and maxBuffered small: the source stops reading (pauses the replication
    // stream) while the sink is stalled, as a consumer behind a large backlog does.
    await run(identity, changes({ connection, maxBuffered: 2, stopWhenIdleMs: 1500 }), { sink: slow, highWaterMark: 2 })
    expect(written).toEqual(Array.from({ length: 12 }, (_, i) => i))
  })
  it('a table added to the publication while the source runs is keyed by its primary key, like the others', async () => {
    const { t, ns, changes } = await setup(
      (t) => [
        `CREATE TABLE ${t('a')} (id int PRIMARY KEY, v int NOT NULL)`,
        `CREATE TABLE ${t('b')} (id int PRIMARY KEY, v int NOT NULL)`,
        `ALTER TABLE ${t('b')} REPLICA IDENTITY FULL`,
      ],
      ['a'],
      ['a', 'b'],
    )
    const running = run(identity, changes({ stopWhenIdleMs: 2500 }))
    // Wait until the source has started (primary keys read) and is streaming.
    for (let i = 0; i < 100; i++) {
      if ((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [ns])).rowCount === 1) break
      await sleep(50)
    }
    await sql.query(`ALTER PUBLICATION ${pg.escapeIdentifier(ns)} ADD TABLE ${t('b')}`)
    await sql.query(`INSERT INTO ${t('b')} VALUES (1, 10)`)
    await sql.query(`UPDATE ${t('b')} SET v = 11 WHERE id = 1`)
    const { out } = await running
    const b = out.filter((c) => c.table.endsWith(t('b')))
    expect(b.map((c) => c.op)).toEqual(['upsert', 'upsert'])
    // "a Change keyed by the row's primary key (one column: its value)": 1, for both changes.
    expect(b.map((c) => c.key)).toEqual([1, 1])
  })

  it('rows of a table without a primary key keep distinct keys (the whole row), instead of all sharing one', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('hits')} (path text NOT NULL, n int NOT NULL)`], ['hits'])
    await sql.query(`INSERT INTO ${t('hits')} VALUES ('/a', 1), ('/b', 2), ('/a', 3)`)
    const { out } = await run(identity, changes())
    expect(out.map((c) => c.key)).toEqual(['["/a",1]', '["/b",2]', '["/a",3]'])
  })

  describe('schema changes', () => {
    const viewEqualsTable = async (out: readonly RowChange[], table: string) => {
      const view = materialize(out)
      const rows = (await sql.query(`SELECT * FROM ${table}`)).rows
      const pk = Object.keys(rows[0] ?? {})[0]
      expect(new Map([...view].map(([k, v]) => [k, JSON.stringify(Object.values(v as object))]))).toEqual(
        new Map(rows.map((r) => [r[pk] as number, JSON.stringify(Object.values(r))])),
      )
    }

    it('renaming the primary-key column keeps keys (they come from the relation message, not the catalog read at start)', async () => {
      const { t, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY, v int NOT NULL)`], ['acc'])
      const a = t('acc')
      await sql.query(`INSERT INTO ${a} VALUES (1, 10), (2, 20)`)
      await sql.query(`ALTER TABLE ${a} RENAME COLUMN id TO uid`)
      await sql.query(`INSERT INTO ${a} VALUES (3, 30)`)
      await sql.query(`UPDATE ${a} SET v = 11 WHERE uid = 1`)
      await sql.query(`DELETE FROM ${a} WHERE uid = 2`)
      const { out } = await run(identity, changes())
      expect(out.map((c) => c.key)).toEqual([1, 2, 3, 1, 2])
      await viewEqualsTable(out, a)
    })

    it('changing the key column from int to bigint keeps keys in one form, so deletes of older rows hit them (REPLICA IDENTITY FULL)', async () => {
      const { t, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY, v int NOT NULL)`, `ALTER TABLE ${t('acc')} REPLICA IDENTITY FULL`], ['acc'])
      const a = t('acc')
      await sql.query(`INSERT INTO ${a} VALUES (1, 10), (2, 20), (3, 30)`)
      await sql.query(`ALTER TABLE ${a} ALTER COLUMN id TYPE bigint`)
      await sql.query(`DELETE FROM ${a} WHERE id IN (1, 2)`)
      await sql.query(`INSERT INTO ${a} VALUES (4, 40)`)
      const { out } = await run(identity, changes())
      expect(out.map((c) => c.key)).toEqual([1, 2, 3, 1, 2, 4])
      expect([...materialize(out).keys()]).toEqual([3, 4])
    })
  })

  it('TRUNCATE is a dead letter naming the tables, which the run and every restart pass (as Debezium skips truncates by default)', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY)`], ['acc'])
    const a = t('acc')
    await sql.query(`INSERT INTO ${a} VALUES (1), (2)`)
    await sql.query(`TRUNCATE ${a}`)
    await sql.query(`INSERT INTO ${a} VALUES (3)`)
    const first = await run(identity, changes())
    expect(first.out.map((c) => c.key)).toEqual([1, 2, 3])
    expect(first.deadLetters.map((d) => d.message)).toEqual([`pgChanges: TRUNCATE of public.${a} (not a row change, and no keys to delete): rebuild the views of public.${a} from the tables`])
    await sql.query(`INSERT INTO ${a} VALUES (4)`)
    const second = await run(identity, changes())
    expect(second.out.map((c) => c.key)).toEqual([4])
    expect(second.deadLetters).toEqual([])
  })

  it('values arrive exactly: json/jsonb integers beyond 2^53 as strings, numeric[] as strings, timestamps to the microsecond as text', async () => {
    const { t, changes } = await setup(
      (t) => [`CREATE TABLE ${t('v')} (id int PRIMARY KEY, j jsonb, js json, n numeric[], i8 int8[], tz timestamptz, ts timestamp)`],
      ['v'],
    )
    await sql.query(
      `INSERT INTO ${t('v')} VALUES (1, '{"big": 12345678901234567890, "neg": -9007199254740993, "small": 7, "f": 1.5, "s": "12345678901234567890"}',
        '[9007199254740993, {"a": "x\\"9007199254740993"}]', '{1.10, 2.000000000000000000001}', '{9007199254740993}',
        '2024-01-01 00:00:00.123456+00', '2024-01-01 00:00:00.654321')`,
    )
    const { out } = await run(identity, changes({ timestamps: 'text' }))
    expect(out[0].after).toEqual({
      id: 1,
      j: { big: '12345678901234567890', neg: '-9007199254740993', small: 7, f: 1.5, s: '12345678901234567890' },
      js: ['9007199254740993', { a: 'x"9007199254740993' }],
      n: ['1.10', '2.000000000000000000001'],
      i8: ['9007199254740993'],
      tz: '2024-01-01 00:00:00.123456+00',
      ts: '2024-01-01 00:00:00.654321',
    })
  })

  describe('large transactions', () => {
    it('a 200,000-row transaction streams through holding at most maxBuffered changes, with one acknowledgement at its commit', async () => {
      const { t, changes } = await setup((t) => [`CREATE TABLE ${t('big')} (id int PRIMARY KEY)`], ['big'])
      await sql.query(`INSERT INTO ${t('big')} SELECT g FROM generate_series(1, 200000) g`)
      let n = 0
      const acks: unknown[] = []
      const source = changes({ maxBuffered: 1000, stopWhenIdleMs: 1500 })
      const ack = source.ack.bind(source)
      const counting = { ...source, ack: (tokens: readonly unknown[]) => (acks.push(...tokens.filter((x) => x !== null)), ack(tokens)) }
      const { metrics } = await run(identity, counting, { sink: asyncSink(async () => void n++) })
      expect(n).toBe(200_000)
      expect(acks).toHaveLength(1)
      expect(metrics.source?.peakBuffered).toBeLessThanOrEqual(1000)
    })

    it('a source stopped in the middle of a streamed transaction leaves no checkpoint inside it: the restarted run counts each row once', async () => {
      const { t, changes } = await setup((t) => [`CREATE TABLE ${t('big')} (id int PRIMARY KEY)`], ['big'])
      await sql.query(`INSERT INTO ${t('big')} SELECT g FROM generate_series(1, 30000) g`)
      const counted = pipeline({ name: 'countRows', eventTime: () => 0 }, (s: Stream<RowChange>) =>
        pipe(s, keyBy(() => 'all'), window(tumbling('1d'), { emit: 'updates' }), aggregate(count)),
      )
      const store = fileCheckpoints(join(mkdtempSync(join(tmpdir(), 'weir-cdc-')), 'cp.json'))
      const stop = new AbortController()
      let writes = 0
      const stopping = asyncSink(async () => {
        if (++writes === 3000) stop.abort()
      })
      await run(counted, changes({ signal: stop.signal, maxBuffered: 500 }), { sink: stopping, checkpoint: { store, everyEvents: 1000 } })
      expect(writes).toBeLessThan(30_000)
      const restarted = await run(counted, changes(), { checkpoint: { store, everyEvents: 1000 } })
      const last = restarted.out[restarted.out.length - 1] as { after: { value: number } }
      expect(last.after.value).toBe(30_000)
    })

    it('a connection cut inside a transaction, behind one the sink has not written yet, and cut again inside it: each change comes once', async () => {
      const { t, ns, changes } = await setup((t) => [`CREATE TABLE ${t('big')} (id int PRIMARY KEY)`], ['big'])
      await sql.query(`INSERT INTO ${t('big')} VALUES (0)`)
      await sql.query(`INSERT INTO ${t('big')} SELECT g FROM generate_series(1, 20000) g`)
      const keys: Key[] = []
      // The sink stalls at its first write, then at its 3000th: the source fills its window and stops reading.
      let stallAt = 1
      let release: () => void = () => undefined
      const sink = asyncSink<RowChange>(async (c) => {
        if (keys.length + 1 === stallAt) await new Promise<void>((r) => (release = r))
        keys.push(c.key)
      })
      const source = changes({ maxBuffered: 100, stopWhenIdleMs: 1000 })
      const running = run(identity, source, { sink })
      const sessionPid = async () => (await sql.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [ns])).rows[0]?.pid ?? null
      const cut = async () => {
        const pid = await sessionPid()
        await sql.query('SELECT pg_terminate_backend($1)', [pid])
        for (let i = 0; i < 300; i++) {
          const now = await sessionPid()
          if (now !== null && now !== pid) return
          await sleep(50)
        }
        throw new Error('the source did not reconnect')
      }
      const filled = async () => {
        for (let i = 0; i < 300 && ((await source.metrics()).peakBuffered ?? 0) < 99; i++) await sleep(50)
      }
      // The first cut: transaction 0 given, not written; the large one partly given.
      await filled()
      await cut()
      stallAt = 3000
      release()
      // The second cut: inside the large transaction again, past what the first session gave.
      for (let i = 0; i < 600 && keys.length < 2999; i++) await sleep(50)
      await sleep(500)
      await cut()
      stallAt = 0
      release()
      await running
      expect(keys).toHaveLength(20_001)
      expect(new Set(keys).size).toBe(20_001)
    })

    it('idle means no progress from the server: a transaction it takes longer than stopWhenIdleMs to decode is not cut off', async () => {
      const { t, changes } = await setup((t) => [`CREATE TABLE ${t('big')} (id int PRIMARY KEY, pad text)`], ['big'])
      await sql.query(`INSERT INTO ${t('big')} SELECT g, 'x' FROM generate_series(1, 150000) g`)
      let n = 0
      await run(identity, changes({ stopWhenIdleMs: 100 }), { sink: asyncSink(async () => void n++) })
      expect(n).toBe(150_000)
    })
  })

  it('lag() gives the commit time of the oldest transaction delivered and not yet acknowledged, and the WAL the slot retains', async () => {
    const { t, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY)`], ['acc'])
    const source = changes()
    try {
      const before = Date.now()
      await sql.query(`INSERT INTO ${t('acc')} VALUES (1)`)
      const after = Date.now()
      await sql.query(`INSERT INTO ${t('acc')} VALUES (2)`)
      const got: { token: unknown }[] = []
      while (got.length < 2) got.push(...((await source.pull(10)) ?? []))
      const lag = await source.lag()
      expect(lag.oldestUnackedCommit).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000)
      expect(lag.oldestUnackedCommit).toBeLessThanOrEqual(after + 1000)
      expect(lag.walStatus).toBe('reserved')
      expect(lag.retainedBytes).toBeGreaterThan(0)
      await source.ack(got.map((r) => r.token))
      expect((await source.lag()).oldestUnackedCommit).toBeUndefined()
    } finally {
      await source.close()
    }
  })

  it('dropCdc refuses a slot a consumer is reading, with a line saying so; terminate: true ends that session first, and the consumer fails with a line', async () => {
    const { ns, changes } = await setup((t) => [`CREATE TABLE ${t('acc')} (id int PRIMARY KEY)`], ['acc'])
    const stop = new AbortController()
    const running = run(identity, changes({ signal: stop.signal })).catch((e: unknown) => e)
    for (let i = 0; i < 100; i++) {
      if ((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [ns])).rowCount === 1) break
      await sleep(50)
    }
    await expect(dropCdc(DATABASE_URL!, { slot: ns, publication: ns })).rejects.toThrow(
      new RegExp(`^dropCdc: the slot "${ns}" is in use by a running consumer \\(PID \\d+\\): stop it first, or pass terminate: true`),
    )
    expect((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [ns])).rowCount).toBe(1)
    await dropCdc(DATABASE_URL!, { slot: ns, publication: ns, terminate: true })
    expect((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [ns])).rowCount).toBe(0)
    const e = (await running) as Error
    expect(e.message).toMatch(new RegExp(`^pgChanges \\(slot "${ns}"\\): the replication slot does not exist`))
  })
})
