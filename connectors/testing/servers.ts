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
