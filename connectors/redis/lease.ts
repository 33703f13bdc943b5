import type { Redis } from 'ioredis'

/**
 * A write refused because its writer no longer holds the partition's lease: another member took the
 * partition (this one was paused or cut off past its lease). The writer must drop the partition.
 */
export class FencedError extends Error {
  override readonly name = 'FencedError'
}

/** The keys of one partition's lease in a group: the lease itself and its fencing counter. */
export const leaseKeys = (group: string, partition: number) => ({
  lease: `weir:lease:${group}:${partition}`,
  fence: `weir:fence:${group}:${partition}`,
})

/**
 * Takes a partition's lease when nobody holds it, or when it is held under this member's own name
 * (an earlier process of the same member, restarted: names are unique in a group, so that one is
 * gone). The value names the holder and carries a fencing token (INCR): every later write checks it.
 */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return false end
local token = redis.call('INCR', KEYS[2])
local v = ARGV[1] .. '|' .. ARGV[2] .. '|' .. token
redis.call('SET', KEYS[1], v, 'PX', ARGV[3])
return v`

const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`

/**
 * Runs commands only while the lease is still this holder's, atomically (one script), and extends
 * the lease (work done under it shows the holder alive, even while a long batch delays its
 * heartbeat): ARGV is the lease value, the lease's length, then each command as its argument count
 * followed by its arguments. Returns the last
 * command's reply as `{1, reply}` (a nil reply, as XREADGROUP's when there is nothing, leaves `{1}`),
 * or nil when fenced.
 */
const FENCED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local i = 3
local last = true
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  last = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return {1, last}`

/** A member's hold on one partition: renew it, release it, and write only while it holds. */
export interface Lease {
  readonly partition: number
  /** `consumer|instance|token`: who holds it, under which fencing token. */
  readonly value: string
  /** Extends the lease; false when it is no longer this holder's (expired, taken over). */
  renew(ms: number): Promise<boolean>
  /** Gives it up (only if still held). */
  release(): Promise<void>
  /**
   * Runs `commands` atomically if the lease is still held (the last one's reply); throws
   * `FencedError` otherwise. With `bytes`, bulk replies come as Buffers (entries of a binary encoding).
   */
  exec(commands: readonly (readonly (string | number | Buffer)[])[], options?: { readonly bytes?: boolean }): Promise<unknown>
}

/**
 * Tries to take partition `partition`'s lease for `consumer` (process `instance`) for `ms`:
 * the lease, or undefined when another member holds it.
 *
 * @example
 * const lease = await acquireLease(redis, 'g', 0, 'w1', randomUUID(), 3000)
 * await lease?.exec([['HSET', 'view', 'k', '1']])
 */
export async function acquireLease(redis: Redis, group: string, partition: number, consumer: string, instance: string, ms: number): Promise<Lease | undefined> {
  const keys = leaseKeys(group, partition)
  const value = (await redis.eval(ACQUIRE, 2, keys.lease, keys.fence, consumer, instance, ms)) as string | null
  if (value === null) return undefined
  return {
    partition,
    value,
    renew: async (ttl) => (await redis.eval(RENEW, 1, keys.lease, value, ttl)) === 1,
    release: async () => void (await redis.eval(RELEASE, 1, keys.lease, value)),
    exec: async (commands, options) => {
      const args: (string | number | Buffer)[] = [value, ms]
      for (const c of commands) args.push(c.length, ...c)
      const reply = (options?.bytes ? await redis.callBuffer('EVAL', [FENCED, 1, keys.lease, ...args]) : await redis.eval(FENCED, 1, keys.lease, ...args)) as [1, unknown?] | null
      if (reply === null) throw new FencedError(`partition ${partition} of group ${group}: lease lost (held now by another member); this member's writes are refused`)
      return reply[1]
    },
  }
}
