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

