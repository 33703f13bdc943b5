import { execFile } from 'node:child_process'
import { chownSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
/**
 * Server-backed tests run only when the servers are given: `.ci/run` (and `.ci/services.sh up` by
 * hand) start Redis and PostgreSQL and export these variables. Without them the suites are skipped
 * with a message saying how to run them.
 */
export const REDIS_URL = process.env.REDIS_URL
export const DATABASE_URL = process.env.DATABASE_URL

const warned = new Set<string>()

/** True when `name` is unset; warns once why the suite is skipped. */
export function missing(name: 'REDIS_URL' | 'DATABASE_URL'): boolean {
  if (process.env[name]) return false
  if (!warned.has(name)) {
    warned.add(name)
    console.warn(`weir: ${name} is not set: skipping the tests against a real server (eval "$(.ci/services.sh up)" to start one)`)
  }
  return true
}

/** A name no other test run uses, for topics, groups, tables and slots. */
export const unique = (prefix: string): string => `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`


/** A PostgreSQL server of one test file's own, which it may restart, stop and misconfigure. */
export interface PrivatePostgres {
  readonly url: string
  /** `pg_ctl restart -m fast`: resolves when the server is up again; rejects if it did not stop within `timeoutS`. */
  restart(timeoutS?: number): Promise<void>
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops it (immediate) and removes its files. */
  destroy(): Promise<void>
}

/**
 * Starts a throw-away PostgreSQL cluster (initdb, a free loopback port, wal_level=logical, and
 * `settings`) with the binaries `.ci/services.sh` found (it exports WEIR_PG_CTL, WEIR_PG_RUNAS and
 * WEIR_SVC_DIR): tests that restart a server under a connected consumer must not do it to the
 * server other test files are using. Undefined, with a warning, when the environment does not say
 * where pg_ctl is.
 */
export async function privatePostgres(settings: Readonly<Record<string, string | number>> = {}): Promise<PrivatePostgres | undefined> {
  const ctl = process.env.WEIR_PG_CTL
  const home = process.env.WEIR_SVC_DIR
  if (!ctl || !home) {
    if (!warned.has('pg_ctl')) {
      warned.add('pg_ctl')
      console.warn('weir: WEIR_PG_CTL / WEIR_SVC_DIR are not set: skipping the tests that restart PostgreSQL (eval "$(.ci/services.sh up)" exports them)')
    }
    return undefined
  }
  const runas = (process.env.WEIR_PG_RUNAS ?? '').split(' ').filter((w) => w !== '')
  const exec = (cmd: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(cmd[0], cmd.slice(1), (e, out, err) => (e ? reject(new Error(`${cmd.join(' ')}: ${err.trim() || e.message}`)) : resolve(out)))
    })
  const dir = join(home, unique('pg'))
  mkdirSync(dir, { recursive: true })
  if (runas.length > 0) {
    const uid = Number(await exec(['id', '-u', 'postgres']))
    const gid = Number(await exec(['id', '-g', 'postgres']))
    chownSync(dir, uid, gid)
  }
  const port = await freePort()
  const data = join(dir, 'data')
  await exec([...runas, join(dirname(ctl), 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'])
  const all: Record<string, string | number> = { listen_addresses: '127.0.0.1', wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10, fsync: 'off', full_page_writes: 'off', ...settings }
  const options = `-p ${port} -k ${dir} ${Object.entries(all).map(([k, v]) => `-c ${k}=${v}`).join(' ')}`
  const pgCtl = (args: string[]) => exec([...runas, ctl, '-D', data, ...args]).then(() => undefined)
  const start = () => pgCtl(['-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start'])
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: (timeoutS = 20) => pgCtl(['-l', join(dir, 'log'), '-m', 'fast', '-w', '-t', String(timeoutS), 'restart']),
    stop: () => pgCtl(['-m', 'fast', '-w', '-t', '30', 'stop']),
    start,
    destroy: async () => {
      await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo
      srv.close(() => resolve(port))
    })
  })
