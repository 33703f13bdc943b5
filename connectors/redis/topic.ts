import type { Redis } from 'ioredis'
import { globToRegExp } from '../partition.ts'

/** The Redis hash that records every topic's partition count, for pattern subscriptions. */
export const TOPICS_KEY = 'weir:topics'

/** A topic: `partitions` Redis streams named `<name>:<i>`, events routed to one by key hash. */
export interface Topic {
  readonly name: string
  readonly partitions: number
}

/** The stream key of one partition of a topic. */
export const streamKey = (topic: string, partition: number): string => `${topic}:${partition}`

/**
 * Declares a topic (idempotent). Fails when the topic exists with another partition count, since
 * re-partitioning would move keys between streams and break per-key order.
 *
 * @example
 * await createTopic(redis, 'flights', 4)
 */
export async function createTopic(redis: Redis, name: string, partitions: number): Promise<Topic> {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new TypeError(`createTopic: partitions must be a positive integer, got ${partitions}`)
  await redis.hsetnx(TOPICS_KEY, name, String(partitions))
  const have = Number(await redis.hget(TOPICS_KEY, name))
  if (have !== partitions) throw new Error(`createTopic: topic '${name}' exists with ${have} partitions, not ${partitions}`)
  return { name, partitions }
}

/** The declared topics, by name. */
export async function listTopics(redis: Redis): Promise<Topic[]> {
  const all = await redis.hgetall(TOPICS_KEY)
  return Object.keys(all)
    .sort()
    .map((name) => ({ name, partitions: Number(all[name]) }))
}

/**
 * The declared topics whose names match a glob (`*` within a dot-separated segment, `**` across
 * segments, `?` one character).
 *
 * @example
 * await topicsMatching(redis, 'orders.*') // orders.eu, orders.us, not payments.eu
 */
export async function topicsMatching(redis: Redis, glob: string): Promise<Topic[]> {
  const re = globToRegExp(glob)
  return (await listTopics(redis)).filter((t) => re.test(t.name))
}
