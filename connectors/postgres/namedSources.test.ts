import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { setTimeout as sleep } from 'node:timers/promises'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { source } from '../../dsl/sources.ts'
import { keyBy, map } from '../../dsl/stages.ts'
import { temporalJoin } from '../../dsl/temporalJoin.ts'
import { boundedOutOfOrder } from '../../dsl/watermarks.ts'
import type { Change } from '../../dsl/change.ts'
import { DATABASE_URL, missing, unique } from '../testing/servers.ts'
import { createCdc, dropCdc, pgChanges, type RowChange } from './cdc.ts'

interface Payment {
  readonly account: number
  readonly at: number
}

// A table kept from the database, one source of a pipeline whose other source is an event stream:
// each payment is joined with its account's row as of the payment's time (the row's version by
// commit time), whichever order the two inputs are read in.
describe.skipIf(missing('DATABASE_URL'))('pgChanges as one named source of a pipeline (real server)', () => {
  let sql: pg.Client
  const ns = unique('sources')
  const accounts = `${ns}_accounts`
  beforeAll(async () => {
    sql = new pg.Client({ connectionString: DATABASE_URL })
    await sql.connect()
    await sql.query(`CREATE TABLE ${accounts} (id int PRIMARY KEY, owner text NOT NULL)`)
    await createCdc(DATABASE_URL!, { slot: ns, publication: ns, tables: [accounts] })
  })
  afterAll(async () => {
    await dropCdc(DATABASE_URL!, { slot: ns, publication: ns })
    await sql.query(`DROP TABLE IF EXISTS ${accounts}`)
    await sql.end()
  })

  it('joins live events with the table as of their time', async () => {
    await sql.query(`INSERT INTO ${accounts} VALUES (1, 'ann'), (2, 'bob')`)
    await sleep(20)
    const between = Date.now()
    await sleep(20)
    await sql.query(`UPDATE ${accounts} SET owner = 'ann2' WHERE id = 1`)
    await sql.query(`DELETE FROM ${accounts} WHERE id = 2`)
    await sleep(20)
    const after = Date.now()

    const paid = pipeline(
      {
        name: 'paid',
        sources: {
          accounts: source({ eventTime: (c: RowChange) => c.commitTime, watermark: boundedOutOfOrder('1s') }),
          payments: source({ eventTime: (p: Payment) => p.at }),
        },
      },
      ({ accounts: changes, payments }) =>
        pipe(
          payments,
          keyBy((p) => p.account),
          temporalJoin(pipe(changes, map((c) => c as unknown as Change<number, { owner: string }>)), { type: 'left' }),
          map(({ left, right }) => [left.account, left.at === between ? 'between' : 'after', right?.owner ?? null]),
        ),
    )
    const payments: Payment[] = [
      { account: 1, at: between },
      { account: 2, at: between },
      { account: 1, at: after },
      { account: 2, at: after },
    ]
    const { out, late, deadLetters } = await run(paid, { accounts: pgChanges({ connection: DATABASE_URL!, slot: ns, publication: ns, stopWhenIdleMs: 700 }), payments })
    expect(late).toEqual([])
    expect(deadLetters).toEqual([])
    expect(out).toEqual([
      [1, 'between', 'ann'],
      [2, 'between', 'bob'],
      [1, 'after', 'ann2'],
      [2, 'after', null],
    ])
  }, 30_000)
})
