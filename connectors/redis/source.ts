import type { Redis } from 'ioredis'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { PulledRecord, PulledSource, PullOptions } from '../sources.ts'
import { streamKey, topicsMatching, type Topic } from './topic.ts'
import { ownerOf } from '../partition.ts'
import { Queue } from '../../operators/core/Queue.ts'
import type { Encoding } from '../encodings/encoding.ts'
import { eventField, isBinary, textEntries, textStreams, type Entries, type Fields } from './entries.ts'

/** Options of `redisSource`. */
export interface RedisSourceOptions {
  /** Topics to read (by name; their partition counts are looked up), or ... */
  readonly topics?: readonly string[]
  /** ... a glob over topic names, re-resolved every heartbeat (new matching topics join the subscription). */
  readonly pattern?: string
  /** The consumer group: each group sees every message (fan-out); its members share them (load balancing). */
  readonly group: string
  /** This member's name, unique within the group. */
  readonly consumer: string
  /**
   * How members share a group's work. `'partitions'` (default): each live member owns a disjoint
   * set of partition streams (`ownerOf` of the partition number: partition p of every topic goes
   * to the same member, and a dead member's partitions move while the others stay), so every key is
   * handled by one member, also across topics keyed alike, and per-key state stays whole.
   * `'shared'`: every member reads every partition and Redis hands each message to one of them
   * (for stateless pipelines).
   */
  readonly assignment?: 'partitions' | 'shared'
  /** Where a new group starts: `'0'` (default) the beginning of each stream, `'$'` only new messages. */
  readonly start?: '0' | '$'
  /** Longest wait of one XREADGROUP for new messages, in ms (default 100). */
  readonly blockMs?: number
  /** Members announce themselves this often, in ms (default 250). */
  readonly heartbeatMs?: number
  /** A member silent for this long is dead: its partitions move and its pending messages are claimed (default 2000). */
  readonly sessionTimeoutMs?: number
  /** A dead member's pending message is claimed once it has been idle this long, in ms (default 1000). */
  readonly claimIdleMs?: number
  /**
   * Read nothing until this many members are live (so partitions are not reassigned while workers
   * start); once reading has started, members leaving do not stop the others.
   */
  readonly minMembers?: number
  /**
   * End of input once this member has had no new message for this long and the group is drained:
   * every entry of every subscribed stream delivered, and no entry pending at another member
   * unless that member is live and itself drained (so a dead member's entries are claimed first).
   * Default: never (read until `signal` aborts).
   */
  readonly stopWhenIdleMs?: number
  /**
   * Refuse to read beside other live members of the group: a stateful run whose whole state is in
   * one checkpoint (a file) belongs to one process; several such members would each hold part of
   * the keys' state and lose it when partitions move (`runMember` keeps state per partition instead).
   */
  readonly alone?: boolean
  /** Aborting ends the input at the next pull. */
  readonly signal?: AbortSignal
  /**
   * An entry delivered more than this many times (Redis counts deliveries: a first read, then each
   * redelivery to a restarted or surviving member) is a poison record, one that keeps killing the
   * members that read it: it is moved to the dead-letter stream with its reason and acknowledged,
   * so the group is not wedged on it (default 5).
   */
  readonly maxDeliveries?: number
  /** Where poison entries go: a Redis stream key (default `<topic>:dead-letters`, one per topic). */
  readonly deadLetterStream?: string
  /**
   * How events are written in the entries' `e` field (as `redisSink` writes them with the same
   * encoding): JSON text by default, or the bytes of `avro(schema)` or `msgpack()`. An entry that
   * does not decode is a dead letter with its stream and id; the run goes on.
   */
  readonly encoding?: Encoding
}

/** How many deliveries of an entry `redisSource` allows by default before it dead-letters it. */
export const DEFAULT_MAX_DELIVERIES = 5

/** Acknowledgement token of one stream entry: its stream key and entry id. */
export type RedisToken = readonly [stream: string, id: string]

/** Orders two stream entry ids (`ms-seq`). */
const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(Number)
  const [bm, bs] = b.split('-').map(Number)
  return am !== bm ? am - bm : as - bs
}

/**
 * A pulled record of an entry: its event, or a dead letter (`run` gives it its position) for an
 * entry that is not JSON (or does not decode in its binary `encoding`), has no event field, or was
 * deleted from the stream before it was read.
 */
export const recordOf = <T>(stream: string, id: string, fields: Fields | null, encoding?: Encoding): PulledRecord<T> => {
  if (fields === null) return rejected(stream, id, 'was deleted before it was read')
  const raw = eventField(fields)
  if (raw === undefined) return rejected(stream, id, `has no field 'e' (entries are { e: ${isBinary(encoding) ? encoding.name : 'JSON'} }, as redisSink writes them)`, fields)
  try {
    const value = typeof raw === 'string' ? JSON.parse(raw) : encoding!.decode(raw)
    return { value: value as T, pos: 0, token: [stream, id] satisfies RedisToken }
  } catch (e) {
    return rejected(stream, id, typeof raw === 'string' ? `is not JSON: ${errorMessage(e)}` : `does not decode as ${encoding!.name}: ${errorMessage(e)}`, raw)
  }
}

/** The record of an entry that is no event: its dead letter, and its token to acknowledge it with. */
export const rejected = <T>(stream: string, id: string, message: string, raw?: unknown, reason: 'parse' | 'redelivered' = 'parse'): PulledRecord<T> => ({
  value: undefined as T,
  pos: 0,
  token: [stream, id] satisfies RedisToken,
  rejected: deadLetter(reason, 'source', 0, `entry ${id} of ${stream} ${message}`, raw),
})

/** An entry to deliver again (pending at this member), and how many times it was delivered so far. */
interface Redelivery {
  readonly stream: string
  readonly id: string
  readonly deliveries: number
}

/**
 * Reads Redis Streams topics as a member of a consumer group, as a source `run` pulls with its
 * credit: each pull is one XREADGROUP of at most as many entries as the pipeline has room for, so
 * Redis is read only as fast as the pipeline drains. Entries are acknowledged (XACK) only when `run`
 * says their outputs are handled (see `run` for the rule). Members heartbeat into a sorted set; a
 * member silent for `sessionTimeoutMs` is dead: its partitions go to the survivors and its pending
 * (read, never acknowledged) entries are claimed by them once idle for `claimIdleMs`, so nothing is
 * lost when a worker dies. Entries are `{ e: JSON }` as written by `redisSink` (or `{ e: bytes }` of a binary `encoding`).
 *
 * Reads use their own connection (a blocking XREADGROUP would stall acknowledgements); `redis` is
 * used for the rest and is not closed by the source.
 *
 * @example
 * await run(p, redisSource(redis, { topics: ['flights'], group: 'delays', consumer: 'w1', stopWhenIdleMs: 1000 }), { sink })
 */
export function redisSource<T = unknown>(redis: Redis, o: RedisSourceOptions): PulledSource<T> {
  if ((o.topics === undefined) === (o.pattern === undefined)) throw new TypeError('redisSource: give exactly one of topics or pattern')
  const { group, consumer } = o
  const assignment = o.assignment ?? 'partitions'
  const blockMs = o.blockMs ?? 100
  const heartbeatMs = o.heartbeatMs ?? 250
  const sessionTimeoutMs = o.sessionTimeoutMs ?? 2000
  const claimIdleMs = o.claimIdleMs ?? 1000
  const maxDeliveries = o.maxDeliveries ?? DEFAULT_MAX_DELIVERIES
  if (!(Number.isSafeInteger(maxDeliveries) && maxDeliveries >= 1))
    throw new TypeError(`redisSource: maxDeliveries must be a positive integer, got ${String(o.maxDeliveries)}`)
  const membersKey = `weir:members:${group}`
  const idleKey = `weir:idle:${group}`
  const reader = redis.duplicate()
  const grouped = new Set<string>()
  let live: string[] = []
  let owned: string[] = []
  let lastBeat = Number.NEGATIVE_INFINITY
  let lastData = Date.now()
  let alive = new Set<string>()
  let streams: string[] = []
  /** The topic of each partition stream (for its dead-letter stream). */
  const topicOf = new Map<string, string>()
  let announcedIdle = false
  let started = (o.minMembers ?? 1) <= 1

  const got = async (records: PulledRecord<T>[]): Promise<PulledRecord<T>[]> => {
    lastData = Date.now()
    if (announcedIdle) {
      announcedIdle = false
      await redis.srem(idleKey, consumer)
    }
    return records
  }

  const ensureGroup = async (key: string) => {
    if (grouped.has(key)) return
    try {
      await redis.xgroup('CREATE', key, group, o.start ?? '0', 'MKSTREAM')
    } catch (e) {
      if (!String((e as Error).message).includes('BUSYGROUP')) throw e
    }
    grouped.add(key)
  }

  const heartbeat = async () => {
    const now = Date.now()
    lastBeat = now
    await redis.zadd(membersKey, now, consumer)
    const scored = await redis.zrangebyscore(membersKey, '-inf', '+inf', 'WITHSCORES')
    const all: string[] = []
    live = []
    for (let i = 0; i < scored.length; i += 2) {
      all.push(scored[i])
      if (Number(scored[i + 1]) >= now - sessionTimeoutMs) live.push(scored[i])
    }
    all.sort()
    live.sort()
    alive = new Set(live)
    if (o.alone === true && live.length > 1)
      throw new Error(
        `group ${group} has other live members (${live.filter((m) => m !== consumer).join(', ')}): a stateful run checkpointed to one file must run alone; run every member without --checkpoint to keep state per partition in Redis (docs/scale-out.md)`,
      )
    const topics: Topic[] =
      o.pattern !== undefined
        ? await topicsMatching(redis, o.pattern)
        : await Promise.all(
            o.topics!.map(async (name) => {
              const n = Number(await redis.hget('weir:topics', name))
              if (!(n >= 1)) throw new Error(`redisSource: topic '${name}' is not declared (createTopic, or write to it first)`)
              return { name, partitions: n }
            }),
          )
    const parts: { readonly stream: string; readonly p: number }[] = []
    for (const t of topics)
      for (let p = 0; p < t.partitions; p++) {
        const stream = streamKey(t.name, p)
        topicOf.set(stream, t.name)
        parts.push({ stream, p })
      }
    parts.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
    streams = parts.map((x) => x.stream)
    // Owned by partition number, the same for every topic: topics keyed alike (co-partitioned) put
    // a key in the same partition of each, so one member sees all of a key's events, as in
    // replayPartitioned.
    owned =
      assignment === 'shared' ? streams : parts.filter((x) => ownerOf(x.p, all, live, (m) => alive.has(m)) === consumer).map((x) => x.stream)
    for (const s of owned) await ensureGroup(s)
    await claimFromDead()
    await reportTrimmed()
  }

  /** Per stream, the head (first entry id) at which a gap was last reported. */
  const reportedGaps = new Map<string, string>()
  /**
   * Entries trimmed (`maxLen`) before this group read them never come: such a gap is a dead letter
   * naming the stream and how many, not a silent skip. Trimming removes from the head, so there is
   * a gap when the group's last delivered id is behind the stream's first entry and entries were
   * removed; the group's read counter (Redis 7) says how many of those it had read. Checked at every
   * heartbeat, so a group that was behind learns it before its first read.
   */
  const reportTrimmed = async () => {
    for (const stream of owned) {
      const info = (await redis.xinfo('STREAM', stream)) as unknown[]
      const removed = Number(field(info, 'entries-added')) - Number(field(info, 'length'))
      if (!(removed > 0)) continue
      const first = field(info, 'first-entry') as [string, unknown] | null
      const head = first === null ? String(field(info, 'last-generated-id')) : first[0]
      const g = ((await redis.xinfo('GROUPS', stream)) as unknown[][]).find((x) => field(x, 'name') === group)
      if (g === undefined) continue
      const last = String(field(g, 'last-delivered-id'))
      // Past the head (or, for an emptied stream, at its last id): nothing removed was unread.
      if (first === null ? compareIds(last, head) >= 0 : compareIds(last, head) > 0) continue
      const read = field(g, 'entries-read')
      const missed = typeof read === 'number' ? removed - read : last === '0-0' ? removed : undefined
      if (missed !== undefined && missed <= 0) continue
      if (reportedGaps.get(stream) === head) continue
      reportedGaps.set(stream, head)
      claimed.push({
        value: undefined as T,
        pos: 0,
        // Acknowledging an id that is not pending does nothing: the gap needs no acknowledgement.
        token: [stream, last] satisfies RedisToken,
        rejected: deadLetter(
          'parse',
          'source',
          0,
          `${missed ?? 'some'} entries of ${stream} after ${last} were deleted (trimmed) before group ${group} read them`,
        ),
      })
    }
  }


  /** Records to hand out before reading (gaps found by `reportTrimmed`). */
  let claimed: PulledRecord<T>[] = []
  /**
   * Entries pending at this member to deliver before new ones: its own after a restart, and those
   * claimed from dead members. Claims take only the ids (no delivery counted); an entry is counted
   * as delivered when `redeliver` hands it out, so an entry waiting behind a poison one is not
   * charged for the poison's crashes.
   */
  const redeliveries = new Queue<Redelivery>()
  /** `stream id` of every entry in `redeliveries`: an entry claimed before recovery is queued once. */
  const queued = new Set<string>()
  const enqueue = (stream: string, id: string, deliveries: number) => {
    const k = `${stream} ${id}`
    if (queued.has(k)) return
    queued.add(k)
    redeliveries.push({ stream, id, deliveries })
  }
  /** Claims entries pending at consumers that are no longer live, once idle long enough. */
  const claimFromDead = async () => {
    for (const stream of owned) {
      const consumers = (await redis.xinfo('CONSUMERS', stream, group)) as unknown[][]
      for (const c of consumers) {
        const name = String(c[c.indexOf('name') + 1])
        const pending = Number(c[c.indexOf('pending') + 1])
        if (pending === 0 || alive.has(name)) continue
        // All of them before any new read, 1,000 at a time: entries read later are newer, and an
        // older entry of a key applied after a newer one would leave a view (an upsert sink) stale.
        for (;;) {
          const ids = (await redis.xpending(stream, group, 'IDLE', claimIdleMs, '-', '+', 1000, name)) as [string, string, number, number][]
          if (ids.length === 0) break
          const got = new Set((await redis.xclaim(stream, group, consumer, claimIdleMs, ...ids.map((x) => x[0]), 'JUSTID')) as string[])
          for (const [id, , , deliveries] of ids) if (got.has(id)) enqueue(stream, id, deliveries)
          if (ids.length < 1000) break
        }
      }
    }
  }

  /**
   * A consumer that restarts under its old name finds the entries it had read but not acknowledged
   * still pending at itself: nobody else claims them (it is live again), so it delivers them again
   * first.
   */
  let recovered = false
  const recoverOwnPending = async () => {
    recovered = true
    for (const stream of owned) {
      let from = '-'
      for (;;) {
        const ids = (await redis.xpending(stream, group, from, '+', 1000, consumer)) as [string, string, number, number][]
        for (const [id, , , deliveries] of ids) enqueue(stream, id, deliveries)
        if (ids.length < 1000) break
        from = `(${ids[ids.length - 1][0]}`
      }
    }
  }

  /**
   * The last entry `redeliver` handed out alone (it had been delivered before). Once the next pull
   * comes, the pipeline has taken it in without dying: its delivery count is set back to 1, so only
   * an entry that really kills its reader climbs towards `maxDeliveries`.
   */
  let survivor: Redelivery | undefined
  const settleSurvivor = async () => {
    if (survivor === undefined) return
    const { stream, id } = survivor
    survivor = undefined
    // Of an entry acknowledged meanwhile, XCLAIM claims nothing.
    await redis.xclaim(stream, group, consumer, 0, id, 'RETRYCOUNT', 1, 'JUSTID')
  }

  /**
   * Hands out queued entries again (XCLAIM to itself counts the delivery). An entry that may be a
   * poison one goes alone, so that it is found by its own count and does not drag the entries read
   * with it over the limit. Entries delivered once so far go together, up to `max`, when the limit
   * leaves room for that (a crash in such a batch costs each of them one more delivery).
   */
  const alone = (r: Redelivery) => r.deliveries > 1 || maxDeliveries < 3
  const redeliver = async (max: number): Promise<PulledRecord<T>[]> => {
    /** The entries to hand out now, by stream, by id. */
    const batch = new Map<string, Map<string, Redelivery>>()
    for (let n = 0; n < max && redeliveries.length > 0; n++) {
      if (n > 0 && alone(redeliveries.peek()!)) break
      const r = redeliveries.shift()!
      queued.delete(`${r.stream} ${r.id}`)
      let ids = batch.get(r.stream)
      if (ids === undefined) batch.set(r.stream, (ids = new Map()))
      ids.set(r.id, r)
      if (alone(r)) break
    }
    const out: PulledRecord<T>[] = []
    for (const [stream, ids] of batch) {
      // An entry acknowledged or deleted meanwhile is no longer pending: XCLAIM leaves it out.
      const got = isBinary(o.encoding)
        ? textEntries((await redis.callBuffer('XCLAIM', [stream, group, consumer, 0, ...ids.keys()])) as never)
        : ((await redis.xclaim(stream, group, consumer, 0, ...ids.keys())) as Entries)
      for (const [id, fields] of got) {
        const prior = ids.get(id)!
        const deliveries = prior.deliveries + 1
        if (deliveries > maxDeliveries) out.push(await poisoned(stream, id, fields, deliveries))
        else {
          // An entry deleted from the stream while pending (trimmed) comes back without fields: a
          // dead letter saying so, acknowledged with the rest, not dropped in silence.
          out.push(recordOf<T>(stream, id, fields, o.encoding))
          if (alone(prior)) survivor = prior
        }
      }
    }
    return out
  }

  /**
   * Moves a poison entry to the dead-letter stream and acknowledges it, in one transaction (a crash
   * between the two must not leave it in both places or in neither); the run gets its dead letter.
   */
  const poisoned = async (stream: string, id: string, fields: Fields | null, deliveries: number): Promise<PulledRecord<T>> => {
    const raw = eventField(fields)
    const to = o.deadLetterStream ?? `${topicOf.get(stream) ?? stream}:dead-letters`
    const reason = `was delivered ${deliveries} times (maxDeliveries ${maxDeliveries}): a poison entry, moved to ${to}`
    const results = await redis
      .multi()
      .xadd(to, '*', 'e', raw ?? '', 'stream', stream, 'id', id, 'group', group, 'deliveries', String(deliveries), 'reason', `entry ${id} of ${stream} ${reason}`)
      .xack(stream, group, id)
      .exec()
    for (const [err] of results ?? []) if (err) throw err
    return rejected<T>(stream, id, reason, raw, 'redelivered')
  }

  const field = (row: unknown[], name: string): unknown => row[row.indexOf(name) + 1]
  /** True when nothing is left for this group: see `stopWhenIdleMs`. */
  const drained = async (): Promise<boolean> => {
    const idle = new Set(await redis.smembers(idleKey))
    for (const stream of streams) {
      const info = (await redis.xinfo('STREAM', stream)) as unknown[]
      if (Number(field(info, 'length')) === 0) continue
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][]
      const g = groups.find((x) => field(x, 'name') === group)
      if (g === undefined || field(g, 'last-delivered-id') !== field(info, 'last-generated-id')) return false
      if (Number(field(g, 'pending')) === 0) continue
      for (const c of (await redis.xinfo('CONSUMERS', stream, group)) as unknown[][]) {
        const name = String(field(c, 'name'))
        if (name === consumer || Number(field(c, 'pending')) === 0) continue
        if (!alive.has(name) || !idle.has(name)) return false
      }
    }
    return true
  }

  return {
    _tag: 'Pulled',
    identity: `redis ${o.pattern !== undefined ? `topics matching ${o.pattern}` : `topics ${o.topics!.join(',')}`} group ${group}`,
    async pull(max, options?: PullOptions) {
      const wait = options?.wait !== false
      await settleSurvivor()
      if (o.signal?.aborted) return undefined
      if (Date.now() - lastBeat >= heartbeatMs) await heartbeat()
      if (claimed.length > 0) return got(claimed.splice(0, max))
      if (!started && live.length >= o.minMembers!) started = true
      if (!started || owned.length === 0) {
        if (wait) await new Promise((r) => setTimeout(r, Math.min(blockMs, heartbeatMs)))
        return []
      }
      if (!recovered) await recoverOwnPending()
      if (redeliveries.length > 0) return got(await redeliver(max))
      const read = ['GROUP', group, consumer, 'COUNT', max, ...(wait ? ['BLOCK', blockMs] : []), 'STREAMS', ...owned, ...owned.map(() => '>')]
      // The typed commands, not `call`: they turn a RESP3 server's map of streams into pairs.
      const res = isBinary(o.encoding)
        ? textStreams((await (reader.xreadgroupBuffer as (...a: unknown[]) => Promise<unknown>).apply(reader, read)) as never)
        : ((await (reader.xreadgroup as (...a: unknown[]) => Promise<unknown>).apply(reader, read)) as [string, Entries][] | null)
      if (res === null) {
        if (o.stopWhenIdleMs === undefined || Date.now() - lastData < o.stopWhenIdleMs) return []
        if (!announcedIdle) {
          await redis.sadd(idleKey, consumer)
          announcedIdle = true
        }
        if (Date.now() - lastBeat >= heartbeatMs) await heartbeat()
        if (claimed.length > 0) return got(claimed.splice(0, max))
        if (redeliveries.length > 0) return got(await redeliver(max))
        return (await drained()) ? undefined : []
      }
      const out: PulledRecord<T>[] = []
      for (const [stream, entries] of res)
        for (const [id, fields] of entries) out.push(recordOf<T>(stream, id, fields, o.encoding))
      return got(out)
    },
    async ack(tokens) {
      const byStream = new Map<string, string[]>()
      for (const t of tokens as readonly RedisToken[]) {
        const ids = byStream.get(t[0])
        if (ids === undefined) byStream.set(t[0], [t[1]])
        else ids.push(t[1])
      }
      const pipe = redis.pipeline()
      for (const [stream, ids] of byStream) pipe.xack(stream, group, ...ids)
      // A pipeline reports each command's error in its results, not by rejecting: an acknowledgement
      // that failed must fail the run (the entries stay pending and will be redelivered), not pass.
      for (const [err] of (await pipe.exec()) ?? []) if (err) throw err
    },
    async close() {
      await redis.zrem(membersKey, consumer)
      await redis.srem(idleKey, consumer)
      reader.disconnect()
    },
  }
}
