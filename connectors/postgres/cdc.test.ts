import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../../harness/run.ts'
import { fileCheckpoints } from '../../harness/checkpoint.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { filter, keyBy, map } from '../../dsl/stages.ts'
import { tableJoin, tableTableJoin } from '../../dsl/joins.ts'
import { temporalJoin } from '../../dsl/temporalJoin.ts'
import type { Change } from '../../dsl/change.ts'
import type { Key, Stream } from '../../dsl/stream.ts'
import { asyncSink, type Sink } from '../sinks.ts'
import { DATABASE_URL, missing, unique } from '../testing/servers.ts'
import { createCdc, dropCdc, lsnToNumber, pgChanges, type RowChange } from './cdc.ts'

const identity = pipeline({ name: 'changes' }, (s: Stream<RowChange>) => s)
const brief = (c: RowChange) => [c.op, c.table.replace(/^.*_/, ''), c.key, c.before ?? null, c.after ?? null]

describe.skipIf(missing('DATABASE_URL'))('PostgreSQL change data capture (real server)', () => {
  let sql: pg.Client
  const slots: string[] = []
  beforeAll(async () => {
    sql = new pg.Client({ connectionString: DATABASE_URL })
    await sql.connect()
  })
  afterAll(async () => {
    for (const slot of slots) await dropCdc(DATABASE_URL!, { slot, publication: slot })
    await sql.end()
  })

  /** A fresh table set, publication and slot for one test. */
  const setup = async (ddl: (t: (name: string) => string) => string[], tables: string[]) => {
    const ns = unique('cdc')
    const t = (name: string) => `${ns}_${name}`
    for (const s of ddl(t)) await sql.query(s)
    slots.push(ns)
    await createCdc(DATABASE_URL!, { slot: ns, publication: ns, tables: tables.map(t) })
    const changes = (o: { stopWhenIdleMs?: number } = {}) => pgChanges({ connection: DATABASE_URL!, slot: ns, publication: ns, stopWhenIdleMs: o.stopWhenIdleMs ?? 700 })
    return { t, changes, ns }
  }
  const accounts = (t: (n: string) => string) => [
    `CREATE TABLE ${t('accounts')} (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL)`,
    `ALTER TABLE ${t('accounts')} REPLICA IDENTITY FULL`,
  ]

  it('a scripted sequence of writes gives exactly the matching changes, with before and after images, in commit order', async () => {
    const { t, changes } = await setup(accounts, ['accounts'])
    const a = t('accounts')
    await sql.query(`BEGIN; INSERT INTO ${a} VALUES (1, 'ann', 10), (2, 'bob', 20); COMMIT`)
    await sql.query(`UPDATE ${a} SET balance = 15 WHERE id = 1`)
    await sql.query(`BEGIN; INSERT INTO ${a} VALUES (3, 'cy', 30); ROLLBACK`)
    // Two overlapping transactions: the one that commits first comes first, whatever it wrote when.
    const other = new pg.Client({ connectionString: DATABASE_URL })
    await other.connect()
    await sql.query(`BEGIN; INSERT INTO ${a} VALUES (4, 'dee', 40)`)
    await other.query(`INSERT INTO ${a} VALUES (5, 'eve', 50)`)
    await sql.query('COMMIT')
    await other.end()
    await sql.query(`DELETE FROM ${a} WHERE id = 2`)

    const { out } = await run(identity, changes())
    expect(out.map(brief)).toEqual([
      ['upsert', 'accounts', 1, null, { id: 1, owner: 'ann', balance: 10 }],
      ['upsert', 'accounts', 2, null, { id: 2, owner: 'bob', balance: 20 }],
      ['upsert', 'accounts', 1, { id: 1, owner: 'ann', balance: 10 }, { id: 1, owner: 'ann', balance: 15 }],
      ['upsert', 'accounts', 5, null, { id: 5, owner: 'eve', balance: 50 }],
      ['upsert', 'accounts', 4, null, { id: 4, owner: 'dee', balance: 40 }],
      ['delete', 'accounts', 2, { id: 2, owner: 'bob', balance: 20 }, null],
    ])
    const commits = out.map((c) => lsnToNumber(c.commitLsn))
    expect([...commits].sort((x, y) => x - y)).toEqual(commits)
  })

  it('resumes after the last acknowledged commit: a restart neither loses nor repeats a change', async () => {
    const { t, changes } = await setup(accounts, ['accounts'])
    const a = t('accounts')
    await sql.query(`INSERT INTO ${a} VALUES (1, 'ann', 10)`)
    await sql.query(`INSERT INTO ${a} VALUES (2, 'bob', 20)`)
    const first = await run(identity, changes())
    expect(first.out.map((c) => c.key)).toEqual([1, 2])
    await sql.query(`UPDATE ${a} SET balance = 11 WHERE id = 1`)
    await sql.query(`INSERT INTO ${a} VALUES (3, 'cy', 30)`)
    const second = await run(identity, changes())
    expect(second.out.map(brief)).toEqual([
      ['upsert', 'accounts', 1, { id: 1, owner: 'ann', balance: 10 }, { id: 1, owner: 'ann', balance: 11 }],
      ['upsert', 'accounts', 3, null, { id: 3, owner: 'cy', balance: 30 }],
    ])
  })

  it('redelivers changes a consumer read but never acknowledged (it died before its sink wrote them)', async () => {
    const { t, changes } = await setup(accounts, ['accounts'])
    const a = t('accounts')
    await sql.query(`INSERT INTO ${a} VALUES (1, 'ann', 10), (2, 'bob', 20)`)
    const failing: Sink<RowChange> = asyncSink(async () => {
      throw new Error('sink down')
    })
    await expect(run(identity, changes(), { sink: failing })).rejects.toThrow('sink down')
    const again = await run(identity, changes())
    expect(again.out.map((c) => c.key)).toEqual([1, 2])
  })

  it('keeps a materialized join view in sync through table-table joins, across a restart from a checkpoint', async () => {
    const { t, changes } = await setup(
      (t) => [
        `CREATE TABLE ${t('customers')} (id int PRIMARY KEY, name text NOT NULL)`,
        `CREATE TABLE ${t('orders')} (id int PRIMARY KEY, customer_id int NOT NULL, total int NOT NULL)`,
        `ALTER TABLE ${t('customers')} REPLICA IDENTITY FULL`,
        `ALTER TABLE ${t('orders')} REPLICA IDENTITY FULL`,
      ],
      ['customers', 'orders'],
    )
    const [customers, orders] = [t('customers'), t('orders')]
    interface Order {
      readonly id: number
      readonly customer_id: number
      readonly total: number
    }
    interface Customer {
      readonly id: number
      readonly name: string
    }
    const view = pipeline({ name: 'orderView' }, (s: Stream<RowChange>) => {
      const os = pipe(s, filter((c) => c.table.endsWith(orders)), map((c) => c as unknown as Change<Key, Order>))
      const cs = pipe(s, filter((c) => c.table.endsWith(customers)), map((c) => c as unknown as Change<Key, Customer>))
      return pipe(os, tableTableJoin(cs, { type: 'left', foreignKey: (o: Order) => o.customer_id }))
    })
    const rows = new Map<Key, string>()
    const sink = asyncSink<Change<Key, { left: Order; right: Customer | undefined }>>(async (c) => {
      if (c.op === 'delete') rows.delete(c.key)
      else rows.set(c.key, `${c.after!.left.total}:${c.after!.right?.name ?? '-'}`)
    })
    const expected = async () => {
      const r = await sql.query(`SELECT o.id, o.total, c.name FROM ${orders} o LEFT JOIN ${customers} c ON c.id = o.customer_id`)
      return new Map<Key, string>(r.rows.map((x) => [x.id as number, `${x.total}:${x.name ?? '-'}`]))
    }
    const checkpoint = { store: fileCheckpoints(join(mkdtempSync(join(tmpdir(), 'weir-cdc-')), 'cp.json')), everyEvents: 2 }

    await sql.query(`INSERT INTO ${customers} VALUES (1, 'ann'), (2, 'bob')`)
    await sql.query(`INSERT INTO ${orders} VALUES (10, 1, 100), (11, 2, 200), (12, 3, 300)`)
    await sql.query(`UPDATE ${customers} SET name = 'anne' WHERE id = 1`)
    await run(view, changes(), { sink, checkpoint })
    expect(rows).toEqual(await expected())

    // The worker stops; the database moves on; a new worker restores the tables from the
    // checkpoint and the slot resumes at the first unacknowledged commit.
    await sql.query(`INSERT INTO ${customers} VALUES (3, 'cy')`)
    await sql.query(`DELETE FROM ${orders} WHERE id = 11`)
    await sql.query(`UPDATE ${orders} SET total = 150, customer_id = 2 WHERE id = 10`)
    await run(view, changes(), { sink, checkpoint })
    expect(rows).toEqual(await expected())
  })

  it('gives each change its transaction\'s commit time, an event time a temporal join reads the table as of', async () => {
    const { t, changes } = await setup(
      (t) => [`CREATE TABLE ${t('prices')} (sku text PRIMARY KEY, amount int NOT NULL)`, `CREATE TABLE ${t('orders')} (id int PRIMARY KEY, sku text NOT NULL)`],
      ['prices', 'orders'],
    )
    const [prices, orders] = [t('prices'), t('orders')]
    const [pricesTable, ordersTable] = [`public.${prices}`, `public.${orders}`]
    // Apart by a few ms: commit times have ms resolution, and transactions in one ms share a time.
    const write = async (statements: string) => {
      await new Promise((r) => setTimeout(r, 5))
      const before = Date.now()
      await sql.query(statements)
      return [before, Date.now()] as const
    }
    await write(`INSERT INTO ${prices} VALUES ('a', 10)`)
    await write(`INSERT INTO ${orders} VALUES (1, 'a')`)
    await write(`UPDATE ${prices} SET amount = 12 WHERE sku = 'a'`)
    await write(`INSERT INTO ${orders} VALUES (2, 'a')`)
    // One transaction: the order and the new price commit at one time, so the order sees it.
    const [before, after] = await write(`BEGIN; INSERT INTO ${orders} VALUES (3, 'a'); UPDATE ${prices} SET amount = 15 WHERE sku = 'a'; COMMIT`)
    await write(`DELETE FROM ${prices} WHERE sku = 'a'`)
    await write(`INSERT INTO ${orders} VALUES (4, 'a')`)

    const all = (await run(identity, changes())).out
    const txn = all.filter((c) => c.commitLsn === all.find((x) => x.table === ordersTable && x.key === 3)!.commitLsn)
    expect(txn).toHaveLength(2)
    expect(txn[0].commitTime).toBe(txn[1].commitTime)
    // The server's clock is this machine's: the commit happened between the two readings.
    expect(txn[0].commitTime).toBeGreaterThanOrEqual(before - 5)
    expect(txn[0].commitTime).toBeLessThanOrEqual(after + 5)
    expect(all.map((c) => c.commitTime)).toEqual(all.map((c) => c.commitTime).sort((x, y) => x - y))

    const priced = (asOf: 'commit' | 'arrival') =>
      pipeline({ name: 'priced', eventTime: (c: RowChange) => c.commitTime }, (s) => {
        const versions = pipe(s, filter((c) => c.table === pricesTable), map((c) => c as unknown as Change<Key, { amount: number }>))
        const placed = pipe(s, filter((c) => c.table === ordersTable && c.op === 'upsert'), keyBy((c) => (c.after as { sku: string }).sku))
        return pipe(
          placed,
          asOf === 'commit' ? temporalJoin(versions, { type: 'left' }) : tableJoin(versions, { type: 'left' }),
          map(({ left, right }) => [left.key, right?.amount ?? null]),
        )
      })
    expect((await run(priced('commit'), all)).out).toEqual([
      [1, 10],
      [2, 12],
      [3, 15],
      [4, null],
    ])
    // As of arrival, the order of the transaction comes before its price update.
    expect((await run(priced('arrival'), all)).out).toEqual([
      [1, 10],
      [2, 12],
      [3, 12],
      [4, null],
    ])
  })
})
