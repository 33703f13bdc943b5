import type { Key } from '../dsl/stream.ts'

/**
 * The partition of a key among `n`: FNV-1a (32-bit) of the key's string form, modulo `n`. The same
 * key always lands in the same partition, in every process and in the virtual-time harness, so
 * per-key state lives with exactly one consumer.
 *
 * @example
 * partitionOf('LAX', 4) // a number in [0, 4), the same on every call
 */
export function partitionOf(key: Key, n: number): number {
  const s = typeof key === 'string' ? key : String(key)
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % n
}

/**
 * Compiles a glob over topic names to a RegExp: `*` matches any run of characters except `.`, `**`
 * any run including `.`, `?` one character; everything else is literal.
 *
 * @example
 * globToRegExp('orders.*').test('orders.eu') // true; 'orders.eu.late' needs 'orders.**'
 */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*'
        i++
      } else re += '[^.]*'
    } else if (c === '?') re += '.'
    else re += c.replace(/[\\^$+.()|{}[\]]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * The owner of partition `p` in a consumer group: `all[p % all.length]` when that member is alive,
 * else `live[p % live.length]`. `all` is every member that has joined (dead ones included) and
 * `live` the live ones, both sorted by name. So members share the partitions evenly, and when one
 * dies only its partitions move (the survivors keep theirs, and their per-key state stays whole).
 *
 * @example
 * ownerOf(1, ['a', 'b'], ['a'], (m) => m === 'a') // 'a': b's partition 1 moved to a
 */
export function ownerOf<M>(p: number, all: readonly M[], live: readonly M[], alive: (m: M) => boolean): M {
  const home = all[p % all.length]
  return alive(home) ? home : live[p % live.length]
}
