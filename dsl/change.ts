import { textOf } from './sides.ts'
/**
 * One entry of a changelog: the common language of CDC sources, windows in `'updates'` mode,
 * tables and table joins.
 *
 * - `upsert`: the row for `key` is now `after` (`before` is what it replaced, when known).
 * - `delete`: the row for `key` is gone (`before` is what was removed, when known).
 *
 * `offset` is the position in the log this change came from, when there is one (read-your-writes).
 * Applying a changelog to a table keyed by `key` is idempotent: replaying an entry, or the whole
 * log, leaves the same table.
 *
 * @example
 * const c: Change<string, number> = { op: 'upsert', key: 'a', after: 1 }
 */
export interface Change<K, V> {
  readonly op: 'upsert' | 'delete'
  readonly key: K
  readonly before?: V
  readonly after?: V
  readonly offset?: number
}

/**
 * An upsert: `key` now maps to `after`.
 *
 * @example
 * upsert('a', 2, 1) // { op: 'upsert', key: 'a', after: 2, before: 1 }
 */
export const upsert = <K, V>(key: K, after: V, before?: V, offset?: number): Change<K, V> => {
  const c: { op: 'upsert'; key: K; after: V; before?: V; offset?: number } = { op: 'upsert', key, after }
  if (before !== undefined) c.before = before
  if (offset !== undefined) c.offset = offset
  return c
}

/**
 * A delete: `key` no longer maps to anything.
 *
 * @example
 * remove('a', 1) // { op: 'delete', key: 'a', before: 1 }
 */
export const remove = <K, V>(key: K, before?: V, offset?: number): Change<K, V> => {
  const c: { op: 'delete'; key: K; before?: V; offset?: number } = { op: 'delete', key }
  if (before !== undefined) c.before = before
  if (offset !== undefined) c.offset = offset
  return c
}

/**
 * Why `c` is not a change (not an object, an `op` other than `'upsert'` and `'delete'`, or an
 * `offset` that is not a non-negative safe integer), or undefined when it is one: what tables and
 * table joins check before applying an input, so that a malformed change goes to dead letters
 * instead of being read as a delete. A bad offset would be worse: `1e308` or `"7"` compare above or
 * against every later offset, so each later change would pass for a repeat and be dropped in silence.
 */
export const notAChange = (c: unknown): string | undefined => {
  if (typeof c !== 'object' || c === null) return `a change must be an object, got ${c === null ? 'null' : typeof c}`
  const op = (c as { op?: unknown }).op
  if (op !== 'upsert' && op !== 'delete') return `a change's op must be 'upsert' or 'delete', got ${shown(op)}`
  const offset = (c as { offset?: unknown }).offset
  if (offset !== undefined && !(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0))
    return `a change's offset must be a non-negative integer (at most 2^53 - 1), got ${shown(offset)}`
  return undefined
}

/** A value as a message shows it: strings quoted, anything else (a BigInt, a symbol) as text, never a throw. */
const shown = (x: unknown): string => (typeof x === 'string' ? JSON.stringify(x) : textOf(x))
