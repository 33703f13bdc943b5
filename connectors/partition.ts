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

/** FNV-1a (32-bit) of a member name and a partition number: the member's bid for that partition. */
function bid(member: string, p: number): number {
  const s = `${member}\u0000${p}`
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // FNV-1a barely mixes its last bytes: a finalizer (murmur3's) so that bids for neighbouring
  // partitions are unrelated.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The owner of each of `n` partitions among `members` (any order; duplicates count once), computed
 * by every member alike from the member list alone: balanced (each member owns `floor(n / m)` or
 * `ceil(n / m)` partitions) and sticky (rendezvous hashing: each partition goes to the member with
 * the highest bid for it that still has room, so a member joining or leaving moves few partitions
 * besides its own). `[]` members: every partition unowned (`undefined`).
 *
 * @example
 * assignPartitions(4, ['w2', 'w1']) // e.g. ['w1', 'w2', 'w2', 'w1']: two each, the same in every process
 */
export function assignPartitions(n: number, members: readonly string[]): (string | undefined)[] {
  const names = [...new Set(members)].sort()
  const owners: (string | undefined)[] = new Array(n).fill(undefined)
  const m = names.length
  if (m === 0) return owners
  const floor = Math.floor(n / m)
  // How many members may own one more than `floor`: the capacities add up to exactly n, so the
  // greedy pass below always finds a member with room.
  let extra = n % m
  const load = new Map(names.map((x) => [x, 0]))
  for (let p = 0; p < n; p++) {
    let best: string | undefined
    let bestBid = -1
    for (const x of names) {
      const l = load.get(x)!
      if (l > floor || (l === floor && extra === 0)) continue
      const b = bid(x, p)
      if (b > bestBid) {
        best = x
        bestBid = b
      }
    }
    const l = load.get(best!)!
    if (l === floor) extra--
    load.set(best!, l + 1)
    owners[p] = best
  }
  return owners
}
