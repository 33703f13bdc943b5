import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { missing, REDIS_URL, unique } from '../testing/servers.ts'
import { acquireLease, FencedError } from './lease.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.skipIf(missing('REDIS_URL'))('partition leases (real server)', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(REDIS_URL!)
  })
  afterAll(() => redis.disconnect())

  it('one holder at a time: another member cannot take a held lease', async () => {
    const group = unique('g')
    const a = await acquireLease(redis, group, 0, 'a', 'i1', 5000)
    expect(a).toBeDefined()
    expect(await acquireLease(redis, group, 0, 'b', 'i2', 5000)).toBeUndefined()
    // Another partition is free.
    expect(await acquireLease(redis, group, 1, 'b', 'i2', 5000)).toBeDefined()
  })

  it('a holder that let its lease expire is fenced: its writes are refused once another member has the partition', async () => {
    const group = unique('g')
    const hash = unique('view')
    const zombie = (await acquireLease(redis, group, 0, 'a', 'i1', 100))!
    await zombie.exec([['HSET', hash, 'k', 'from a']])
    await sleep(150)
    const taker = (await acquireLease(redis, group, 0, 'b', 'i2', 5000))!
    expect(taker.value.split('|')[2]).toBe(String(Number(zombie.value.split('|')[2]) + 1))
    await expect(zombie.exec([['HSET', hash, 'k', 'stale']])).rejects.toBeInstanceOf(FencedError)
    expect(await zombie.renew(5000)).toBe(false)
    await taker.exec([['HSET', hash, 'k', 'from b']])
    expect(await redis.hget(hash, 'k')).toBe('from b')
    // Releasing a lease one no longer holds leaves the holder's alone.
    await zombie.release()
    expect(await taker.renew(5000)).toBe(true)
  })

  it('a member restarted under its own name takes its leases back at once, with a new token that fences the old process', async () => {
    const group = unique('g')
    const before = (await acquireLease(redis, group, 0, 'a', 'old', 60_000))!
    const after = (await acquireLease(redis, group, 0, 'a', 'new', 60_000))!
    expect(after.value).not.toBe(before.value)
    await expect(before.exec([['PING']])).rejects.toBeInstanceOf(FencedError)
    expect(await after.exec([['PING']])).toBe('PONG')
  })

  it('work done under a lease extends it; a released lease is free for the next member', async () => {
    const group = unique('g')
    const a = (await acquireLease(redis, group, 0, 'a', 'i1', 200))!
    for (let i = 0; i < 4; i++) {
      await sleep(100)
      await a.exec([['PING']])
    }
    expect(await redis.pttl(`weir:lease:${group}:0`)).toBeGreaterThan(100)
    await a.release()
    expect(await acquireLease(redis, group, 0, 'b', 'i2', 200)).toBeDefined()
  })
})
