import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { pgMappingOf, type PostgresFlags } from './pgSource.ts'
import { parseArgs } from './args.ts'
import { main, type CliIO } from './weir.ts'
import { DATABASE_URL, REDIS_URL, missing, unique } from '../connectors/testing/servers.ts'
import { runWeir } from '../connectors/testing/weirProcess.ts'
import { createTopic, streamKey, TOPICS_KEY } from '../connectors/redis/topic.ts'
import { createCdc, dropCdc } from '../connectors/postgres/admin.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'

const root = join(import.meta.dirname, '..')
const FIXTURE = 'cli/fixtures/paymentsAndAccounts.ts'
const OWNERS = 'cli/fixtures/paymentOwners.ts'

describe('pgMappingOf (--from <source>=pg:<table>)', () => {
  const topics = { payments: 'pay', accounts: 'pg:accounts' }
  const flags: PostgresFlags = { url: 'postgres://db', slot: 'weir_accounts', publication: undefined }
  const stateless = { pipeline: 'p', stateless: true, checkpoint: false }
  const from = 'payments=pay,accounts=pg:accounts'

  it('maps the source to its table (schema public unless given), the publication named after the slot unless given', () => {
    expect(pgMappingOf(from, topics, flags, stateless)).toEqual({ source: 'accounts', table: 'public.accounts', url: 'postgres://db', slot: 'weir_accounts', publication: 'weir_accounts' })
    expect(pgMappingOf('payments=pay,accounts=pg:sales.accounts', { payments: 'pay', accounts: 'pg:sales.accounts' }, { ...flags, publication: 'pub' }, stateless)).toMatchObject({
      table: 'sales.accounts',
      publication: 'pub',
    })
    expect(pgMappingOf('payments=pay,accounts=acc', { payments: 'pay', accounts: 'acc' }, undefined, stateless)).toBeUndefined()
  })

  it.each<[string, Record<string, string> | undefined, PostgresFlags | undefined, typeof stateless, string]>([
    [from, topics, undefined, stateless, '--from accounts=pg:accounts needs --postgres <url> and --slot <name> (the replication slot that keeps its position)'],
    [from, topics, { ...flags, slot: undefined }, stateless, '--from accounts=pg:accounts needs --slot <name>: the replication slot that keeps its position (created if missing)'],
    ['a=pg:x,b=pg:y', { a: 'pg:x', b: 'pg:y' }, flags, stateless, "--from a=pg:x,b=pg:y: sources 'a' and 'b' both read PostgreSQL; a run reads one table (a slot has one reader)"],
    ['payments=pay,accounts=pg:acc;drop', { payments: 'pay', accounts: 'pg:acc;drop' }, flags, stateless, "--from accounts=pg:acc;drop: 'acc;drop' is not a table name (pg:<table> or pg:<schema>.<table>)"],
    [
      from,
      topics,
      flags,
      { pipeline: 'paid', stateless: false, checkpoint: false },
      "--from accounts=pg:accounts: a stateful pipeline reading PostgreSQL runs alone with --checkpoint <file> (paid keeps state): a slot's changes have one reader and are not partitioned among group members",
    ],
    ['pg:accounts', undefined, flags, stateless, '--from pg:accounts: pg:<table> is one source of a pipeline with several (--from <source>=pg:<table>,<source>=<topic>); this pipeline reads one source'],
    ['pay', undefined, flags, stateless, '--postgres needs a source of the pipeline mapped to a table: --from <source>=pg:<table>'],
    ['payments=pay,accounts=acc', { payments: 'pay', accounts: 'acc' }, flags, stateless, '--postgres needs a source of the pipeline mapped to a table: --from payments=pg:<table>,...'],
  ])('refuses %s (%#)', (f, t, fl, run, message) => {
    expect(() => pgMappingOf(f, t, fl, run)).toThrow(message)
  })

  it('takes a stateful pipeline with --checkpoint, and a stateless one with or without it', () => {
    for (const run of [{ pipeline: 'p', stateless: false, checkpoint: true }, { ...stateless, checkpoint: true }, stateless])
      expect(pgMappingOf(from, topics, flags, run)?.source).toBe('accounts')
  })

  it('--slot and --publication need --postgres, which needs --redis', () => {
    const run = ['run', FIXTURE, '--redis', 'redis://x', '--from', from, '--group', 'g', '--consumer', 'c']
    expect(() => parseArgs([...run, '--slot', 's'])).toThrow('--slot needs --postgres <url> (a source mapped to a table: --from <source>=pg:<table>)')
    expect(() => parseArgs(['run', FIXTURE, '--log', 'x.ndjson', '--postgres', 'postgres://db'])).toThrow('--postgres is for --redis runs')
    expect(parseArgs([...run, '--postgres', 'postgres://db', '--slot', 's'])).toMatchObject({ postgres: { url: 'postgres://db', slot: 's', publication: undefined } })
  })
})

// One source of the pipeline from a Redis topic, another from a table's changes, through the CLI.
describe.skipIf(missing('REDIS_URL') || missing('DATABASE_URL'))('weir run --from payments=<topic>,accounts=pg:<table> (real Redis and PostgreSQL)', () => {
  let redis: Redis
  let sql: pg.Client
  const ns = unique('cli_pg')
  const table = `${ns}_accounts`
  const topics: string[] = []
  const slots: string[] = []
  beforeAll(async () => {
    redis = new Redis(REDIS_URL!)
    sql = new pg.Client({ connectionString: DATABASE_URL })
    await sql.connect()
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, owner text NOT NULL)`)
  })
  afterAll(async () => {
    for (const slot of slots) await dropCdc(DATABASE_URL!, { slot, publication: slot }).catch(() => undefined)
    await sql.query(`DROP TABLE IF EXISTS ${table}`)
    await sql.end()
    for (const topic of topics) {
      await redis.del(streamKey(topic, 0))
      await redis.hdel(TOPICS_KEY, topic)
    }
    redis.disconnect()
  })

  const topicWith = async (entries: unknown[], topic = unique('payments')) => {
    if (!topics.includes(topic)) topics.push(topic)
    await createTopic(redis, topic, 1)
    for (const e of entries) await redis.xadd(streamKey(topic, 0), '*', 'e', JSON.stringify(e))
    return topic
  }
  const weir = async (argv: string[]) => {
    let stdout = ''
    let stderr = ''
    const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: root, env: {} }
    const code = await main(argv, io)
    return { code, out: stdout.trim() === '' ? [] : stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), stderr }
  }
  const args = (topic: string, slot: string, group: string, extra: string[] = []) => [
    'run', FIXTURE, '--redis', REDIS_URL!, '--from', `payments=${topic},accounts=pg:${table}`, '--postgres', DATABASE_URL!, '--slot', slot,
    '--group', group, '--consumer', 'c1', '--idle-exit', '300', ...extra,
  ]

  it('reads the table\'s changes and the topic\'s payments in one run, acknowledging both: a run after it has nothing left', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1, 'ann')`)
    const slot = unique('weir_slot')
    slots.push(slot)
    const group = unique('g')
    const topic = await topicWith([{ id: 1, account: 1, at: 1 }, { id: 2, account: 2, at: 2 }])

    const first = await weir(args(topic, slot, group))
    expect(first.stderr).toContain(`weir: created publication ${slot} of public.${table}\n`)
    expect(first.stderr).toContain(`weir: created replication slot ${slot}: source 'accounts' gets the changes of public.${table} made from now on\n`)
    expect(first.code).toBe(0)
    // The row inserted before the slot existed is not a change the slot has.
    expect(first.out).toEqual([{ payment: 1, account: 1 }, { payment: 2, account: 2 }])

    await sql.query(`UPDATE ${table} SET owner = 'ann2' WHERE id = 1`)
    await sql.query(`INSERT INTO ${table} VALUES (2, 'bob')`)
    await sql.query(`DELETE FROM ${table} WHERE id = 1`)
    await topicWith([{ id: 3, account: 2, at: 3 }], topic)
    const second = await weir(args(topic, slot, group))
    expect(second.code).toBe(0)
    expect(second.stderr).not.toContain('created')
    expect(second.out.filter((l) => 'payment' in l)).toEqual([{ payment: 3, account: 2 }])
    expect(second.out.filter((l) => 'op' in l)).toEqual([
      { account: 1, op: 'upsert', owner: 'ann2' },
      { account: 2, op: 'upsert', owner: 'bob' },
      { account: 1, op: 'delete', owner: null },
    ])
    expect(Number(((await redis.xpending(streamKey(topic, 0), group)) as [number])[0])).toBe(0)

    const third = await weir(args(topic, slot, group))
    expect(third.code).toBe(0)
    expect(third.out).toEqual([])
    expect(third.stderr).toMatch(/: 0 events in, 0 out/)
  }, 60_000)

  it('keeps a stateful pipeline\'s table in its --checkpoint file with the slot\'s and the topic\'s positions: a second run joins with versions it never reads again', async () => {
    const slot = unique('weir_slot')
    slots.push(slot)
    await createCdc(DATABASE_URL!, { slot, publication: slot, tables: [table] })
    await sql.query(`INSERT INTO ${table} VALUES (7, 'ann')`)
    await sleep(20)
    const between = Date.now()
    await sleep(20)
    await sql.query(`UPDATE ${table} SET owner = 'ann2' WHERE id = 7`)
    const group = unique('g')
    const cp = join(mkdtempSync(join(tmpdir(), 'weir-pg-cp-')), 'owners.json')
    const owners = (topic: string) => args(topic, slot, group, ['--checkpoint', cp]).map((a) => (a === FIXTURE ? OWNERS : a))
    const topic = await topicWith([{ id: 1, account: 7, at: between }])
    const first = await weir(owners(topic))
    expect(first.code).toBe(0)
    expect(first.out).toEqual([{ payment: 1, owner: 'ann' }])
    expect(first.stderr).toMatch(/: 3 events in, 1 out/)

    // No change of the table since: both versions are only in the checkpoint's state. Payment 1 was
    // held for the end of input (the update's watermark had not passed it), so the checkpoint has it
    // waiting and the end of this run lets it out again (at least once, docs/checkpoints.md).
    await topicWith([{ id: 2, account: 7, at: Date.now() + 60_000 }], topic)
    const second = await weir(owners(topic))
    expect(second.code).toBe(0)
    expect(second.out).toEqual([{ payment: 1, owner: 'ann' }, { payment: 2, owner: 'ann2' }])
    expect(second.stderr).toMatch(/: 1 events in, 2 out/)
    expect(Number(((await redis.xpending(streamKey(topic, 0), group)) as [number])[0])).toBe(0)
  }, 60_000)

  it('refuses a stateful pipeline without --checkpoint, a server it cannot reach, a table that does not exist, and a publication of other tables: one line, exit 2', async () => {
    const topic = await topicWith([])
    const group = unique('g')
    const stateful = await weir(['run', 'examples/flightAirportsTwoSources.ts', '--redis', REDIS_URL!, '--from', `flights=${topic},airport-changes=pg:airports`, '--postgres', DATABASE_URL!, '--slot', 's', '--group', group, '--consumer', 'c1'])
    expect(stateful.code).toBe(2)
    expect(stateful.stderr).toMatch(/^weir: --from airport-changes=pg:airports: a stateful pipeline reading PostgreSQL runs alone with --checkpoint <file> \(flightAirportsTwoSources keeps state\)[^\n]*\n$/)

    const unreachable = 'postgres://postgres@127.0.0.1:1/postgres'
    const down = await weir(args(topic, unique('weir_slot'), group).map((a) => (a === DATABASE_URL ? unreachable : a)))
    expect(down.code).toBe(2)
    expect(down.stderr).toMatch(new RegExp(`^weir: cannot connect to --postgres ${unreachable}: [^\\n]*ECONNREFUSED[^\\n]*\\n$`))

    const other = unique('weir_pub')
    slots.push(other)
    await sql.query(`CREATE TABLE ${other}_t (id int PRIMARY KEY)`)
    try {
      await sql.query(`CREATE PUBLICATION ${other} FOR TABLE ${other}_t`)
      const wrong = await weir(args(topic, other, group))
      expect(wrong.code).toBe(2)
      expect(wrong.stderr).toBe(`weir: --publication ${other} publishes public.${other}_t, not public.${table} alone: give a publication of that table (a new name is created for it)\n`)
    } finally {
      await sql.query(`DROP PUBLICATION IF EXISTS ${other}`)
      await sql.query(`DROP TABLE ${other}_t`)
    }

    // Through the command itself: one line on stderr, no stack trace, nothing created.
    const slot = unique('weir_slot')
    const missingTable = await runWeir(args(topic, slot, group).map((a) => a.replace(`pg:${table}`, 'pg:no_such_table')))
    expect(missingTable.code).toBe(2)
    expect(missingTable.err).toMatch(/^weir: --postgres \S+: cannot read public\.no_such_table for source 'accounts': relation "public\.no_such_table" does not exist\n$/)
    expect((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount).toBe(0)
  }, 60_000)
})
