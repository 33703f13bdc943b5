import type { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { sourceNames, type Pipeline } from '../../dsl/pipeline.ts'
import type { Sink } from '../sinks.ts'
import type { PulledRecord, PulledSource, PullOptions, Source } from '../sources.ts'
import { assignPartitions } from '../partition.ts'
import { run, type RunOptions } from '../../harness/run.ts'
import { parseCheckpoint, type CheckpointStore } from '../../harness/checkpoint.ts'
import { keyedOffPartition, RekeyedError } from '../../harness/rekeyed.ts'
import type { RunMetrics } from '../../harness/result.ts'
import { acquireLease, FencedError, type Lease } from './lease.ts'
import { DEFAULT_MAX_DELIVERIES, recordOf, rejected } from './source.ts'
import { eventField, isBinary, textEntries, textStreams, type Entries } from './entries.ts'
import type { Encoding } from '../encodings/encoding.ts'
import { streamKey } from './topic.ts'

/** Options of `runMember`. */
export interface MemberOptions<O> {
  /**
   * The topics read, co-partitioned: partition p of each goes to the same member. A pipeline with
   * several sources gives each source its topics (`{ clicks: 'clicks', searches: ['a', 'b'] }`):
   * each partition's run reads one input per source, all of partition p.
   */
  readonly topics: readonly string[] | SourceTopics
  readonly group: string
  /** This member's name, unique in the group (a process restarted under it takes its partitions back at once). */
  readonly consumer: string
  /** How long a partition's lease outlives its holder's last heartbeat, in ms (default 1500). */
  readonly leaseMs?: number
  /** How often a member heartbeats, renews its leases and rebalances, in ms (default leaseMs / 3). */
  readonly heartbeatMs?: number
  /** Records of a partition between its checkpoints (default 1000). */
  readonly checkpointEvery?: number
  /** Stop once no record came for this long and the whole group is drained (default: never). */
  readonly idleExitMs?: number
  /**
   * An entry delivered more than this many times (it keeps killing the members that read it) is
   * moved to the dead-letter stream and acknowledged (default 5, as `redisSource`).
   */
  readonly maxDeliveries?: number
  /** Where poison entries go (default `<topic>:dead-letters`). */
  readonly deadLetterStream?: string
  /** How events are written in the entries (see `redisSource`): JSON text by default. */
  readonly encoding?: Encoding
  /** Aborting leaves the group cleanly: every partition checkpointed and released. */
  readonly signal?: AbortSignal
  /** The sink of one partition's outputs: write through `lease.exec` so a fenced member cannot write. */
  readonly sink: (lease: Lease) => Sink<O>
  /** Called with the partitions this member owns whenever that set changes. */
  readonly onOwned?: (partitions: readonly number[]) => void
  /** Called when one of its partitions was taken while it could not renew the lease (its writes were refused). */
  readonly onFenced?: (partition: number) => void
  /** Passed to each partition's `run`. */
  readonly run?: Pick<RunOptions<O>, 'onDeadLetter' | 'onLate' | 'failFast' | 'keepSideOutputs'>
}

/** The topics of each source of a pipeline with several, by source name. */
export type SourceTopics = Readonly<Record<string, string | readonly string[]>>

/** What a member did over its life. */
export interface MemberSummary {
  readonly eventsIn: number
  readonly eventsOut: number
  readonly deadLetters: number
  readonly late: number
  /** Partition runs started (at start, on rebalances, on takeovers). */
  readonly takeovers: number
  /** Partitions it lost while cut off (its writes refused). */
  readonly fenced: number
}

/** The Redis hash holding a group's checkpoints, one field per partition. */
export const checkpointsKey = (group: string): string => `weir:checkpoints:${group}`

/** Partition `p`'s checkpoint in the group's hash; saved only while `lease` holds. */
function partitionCheckpoints(redis: Redis, group: string, p: number, lease: Lease): CheckpointStore {
  const key = checkpointsKey(group)
  return {
    async load() {
      const text = await redis.hget(key, String(p))
      return text === null ? undefined : parseCheckpoint(text, `checkpoint of partition ${p} in ${key}`)
    },
    async save(c) {
      await lease.exec([['HSET', key, String(p), JSON.stringify(c)]])
    },
  }
}


/** How `partitionSource` reads: its partition's streams and lease, and what to do with poison entries. */
interface PartitionSourceOptions {
  readonly group: string
  readonly consumer: string
  readonly streams: readonly string[]
  readonly lease: Lease
  readonly p: number
  readonly pollMs: number
  readonly maxDeliveries: number
  readonly deadLetterStream: string | undefined
  readonly encoding: Encoding | undefined
  readonly ending: () => boolean
  readonly onData: () => void
}

/**
 * Partition `p` of the topics, read by the lease holder: first every entry pending in the group
 * (claimed from whoever read it: a dead or fenced member, or this member's previous process), then
 * new ones. Every read and acknowledgement goes through the lease, so a member that lost it can
 * neither read on (and strand entries pending at itself) nor acknowledge.
 *
 * Asked to end (`ending`: the group is drained), it stops only once it has read every entry pending
 * at it: those it claimed are its alone to apply, and a run stopping before them would leave them
 * pending at a member about to leave, counted nowhere.
 *
 * Pending entries are re-read with their delivery counts in view, as `redisSource` does: an entry
 * delivered more than once before (it may be what killed its readers) goes alone, and if it survives
 * its count goes back to 1; one that would pass `maxDeliveries` is moved to the dead-letter stream
 * and acknowledged, atomically, and the run gets its dead letter.
 */
function partitionSource<T>(o: PartitionSourceOptions): PulledSource<T> {
  const { group, consumer, streams, lease, maxDeliveries } = o
  /** Per stream: the id after which to read this member's own pending history, or '>' for new entries. */
  const cursors = new Map<string, string>(streams.map((s) => [s, '0-0']))
  let claimed = false
  /** The entry last handed out alone: once the next pull comes, it did not kill its reader. */
  let survivor: readonly [string, string] | undefined
  const claim = async () => {
    for (const s of streams) {
      let cursor = '0-0'
      do {
        const reply = (await lease.exec([['XAUTOCLAIM', s, group, consumer, 0, cursor, 'COUNT', 1000, 'JUSTID']])) as [string, ...unknown[]]
        cursor = reply[0]
      } while (cursor !== '0-0')
    }
    claimed = true
  }
  const alone = (deliveries: number) => deliveries > 1 || maxDeliveries < 3
  const binary = isBinary(o.encoding)
  /** An XREADGROUP through the lease, its entries' values as bytes for a binary encoding. */
  const readGroup = async (command: readonly (string | number)[]): Promise<[string, Entries][] | null> =>
    binary ? textStreams((await lease.exec([command], { bytes: true })) as never) : (((await lease.exec([command])) as [string, Entries][] | undefined) ?? null)
  /** The next pending entries of one stream, read again (or dead-lettered); [] once its history is done. */
  const history = async (s: string, max: number): Promise<PulledRecord<T>[]> => {
    const cursor = cursors.get(s)!
    const pending = (await lease.exec([['XPENDING', s, group, `(${cursor}`, '+', max, consumer]])) as [string, string, number, number][] | undefined
    if (pending === undefined || pending.length === 0) {
      cursors.set(s, '>')
      return []
    }
    const [first, , , deliveries] = pending[0]
    if (alone(deliveries) && deliveries + 1 > maxDeliveries) {
      cursors.set(s, first)
      const got = binary ? textEntries((await lease.exec([['XRANGE', s, first, first]], { bytes: true })) as never) : ((await lease.exec([['XRANGE', s, first, first]])) as Entries | undefined)
      const raw = eventField(got?.[0]?.[1] ?? null)
      const to = o.deadLetterStream ?? `${s.slice(0, s.lastIndexOf(':'))}:dead-letters`
      const reason = `was delivered ${deliveries + 1} times (maxDeliveries ${maxDeliveries}): a poison entry, moved to ${to}`
      await lease.exec([
        ['XADD', to, '*', 'e', raw ?? '', 'stream', s, 'id', first, 'group', group, 'deliveries', String(deliveries + 1), 'reason', `entry ${first} of ${s} ${reason}`],
        ['XACK', s, group, first],
      ])
      return [rejected<T>(s, first, reason, raw, 'redelivered')]
    }
    let n = 1
    if (!alone(deliveries)) while (n < pending.length && !alone(pending[n][3])) n++
    const res = await readGroup(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', n, 'STREAMS', s, cursor])
    const out: PulledRecord<T>[] = []
    for (const [, entries] of res ?? [])
      for (const [id, fields] of entries) {
        out.push(recordOf<T>(s, id, fields, o.encoding))
        cursors.set(s, id)
      }
    if (alone(deliveries) && out.length > 0) survivor = [s, first]
    // Nothing came back though XPENDING listed it: history is done for this stream.
    if (out.length === 0) cursors.set(s, '>')
    return out
  }
  return {
    _tag: 'Pulled',
    identity: `redis partition ${o.p} of ${streams.join(',')} group ${group}`,
    async pull(max, options?: PullOptions) {
      if (survivor !== undefined) {
        const [s, id] = survivor
        survivor = undefined
        await lease.exec([['XCLAIM', s, group, consumer, 0, id, 'RETRYCOUNT', 1, 'JUSTID']])
      }
      if (!claimed) await claim()
      for (const s of streams)
        if (cursors.get(s) !== '>') {
          const out = await history(s, max)
          if (out.length > 0) {
            o.onData()
            return out
          }
          if (cursors.get(s) !== '>') return []
        }
      if (o.ending()) return undefined
      const res = await readGroup(['XREADGROUP', 'GROUP', group, consumer, 'COUNT', max, 'STREAMS', ...streams, ...streams.map(() => '>')])
      const out: PulledRecord<T>[] = []
      for (const [stream, entries] of res ?? []) for (const [id, fields] of entries) out.push(recordOf<T>(stream, id, fields, o.encoding))
      if (out.length > 0) {
        o.onData()
        return out
      }
      if (options?.wait !== false) await new Promise((r) => setTimeout(r, o.pollMs))
      return []
    },
    async ack(tokens) {
      const byStream = new Map<string, string[]>()
      for (const [s, id] of tokens as readonly (readonly [string, string])[]) {
        const list = byStream.get(s)
        if (list === undefined) byStream.set(s, [id])
        else list.push(id)
      }
      if (byStream.size > 0) await lease.exec([...byStream].map(([s, list]) => ['XACK', s, group, ...list]))
    },
    async close() {},
  }
}

const field = (row: unknown[], name: string): unknown => row[row.indexOf(name) + 1]

/**
 * The topics of each source of a pipeline with several, checked against its sources (a topic read
 * by one source only, see `topicReadTwice`); undefined for a one-source pipeline, which takes a list.
 */
function topicsBySource(p: Pipeline<unknown, unknown, unknown>, topics: readonly string[] | SourceTopics): Readonly<Record<string, readonly string[]>> | undefined {
  const names = sourceNames(p)
  const list = [...(names ?? [])].join(', ')
  if (Array.isArray(topics)) {
    if (names !== undefined)
      throw new TypeError(`runMember: pipeline '${p.name}' reads several sources (${list}): give each its topics, topics: { ${[...names].map((n) => `${n}: ...`).join(', ')} }`)
    return undefined
  }
  if (names === undefined) throw new TypeError(`runMember: pipeline '${p.name}' reads one source: give its topics as a list, not by source`)
  const given = topics as SourceTopics
  for (const name of Object.keys(given)) if (!names.has(name)) throw new TypeError(`runMember: topics given for '${name}', which names no source of pipeline '${p.name}' (its sources: ${list})`)
  const out: Record<string, readonly string[]> = {}
  for (const name of names) {
    const t = given[name]
    if (t === undefined) throw new TypeError(`runMember: no topics for source '${name}' of pipeline '${p.name}' (its sources: ${list})`)
    out[name] = typeof t === 'string' ? [t] : t
  }
  const twice = topicReadTwice(out)
  if (twice !== undefined) throw new TypeError(`runMember: ${twice}`)
  return out
}

/**
 * Why these topics by source cannot be read by one group, or undefined: a topic given to two
 * sources would be read by two readers of one group, each getting part of its entries.
 */
export function topicReadTwice(bySource: Readonly<Record<string, readonly string[]>>): string | undefined {
  const readBy = new Map<string, string>()
  for (const [name, topics] of Object.entries(bySource))
    for (const topic of topics) {
      const other = readBy.get(topic)
      if (other !== undefined) return `topic '${topic}' is given to sources '${other}' and '${name}'; each topic is read by one source`
      readBy.set(topic, name)
    }
  return undefined
}

/**
 * Runs a pipeline as one member of a consumer group over partitioned Redis topics, keeping state
 * per partition: each partition it owns runs its own instance of the pipeline (its own state and
 * watermark), checkpointed into the group's hash with the entries it covers.
 *
 * Members heartbeat into a sorted set; every member computes the same owners from the live member
 * list (`assignPartitions`). A partition is held under a lease with a fencing token: a member
 * gives a partition up by checkpointing it and releasing the lease; the taker restores that
 * checkpoint, claims the entries still pending (read after it), and reads on. A dead member's
 * partitions move once its lease expires. Every checkpoint write, sink write (through `sink`'s
 * lease) and acknowledgement checks the lease atomically, so a member paused past its lease can no
 * longer write when it wakes: its partitions' runs fail with `FencedError` and are dropped.
 *
 * A pipeline with several sources reads each from its own topics (`topics` by source name), all
 * co-partitioned: partition p's run has one input per source, each of partition p of its topics,
 * and one checkpoint holding the state and each input's position; a handoff or takeover moves
 * them all at once, so a join of two topics keyed alike joins partition p of each.
 *
 * A stateful stage keyed by something other than the routing key would split a key's state over
 * partitions: the run fails at the first such key, naming it (see docs/scale-out.md).
 *
 * @example
 * await runMember(counts, redis, { topics: ['clicks'], group: 'g', consumer: 'w1',
 *   sink: (lease) => fencedUpsertSink(lease, 'view', (o) => o.key) })
 * await runMember(clicksWithSearches, redis, { topics: { clicks: 'clicks', searches: 'searches' },
 *   group: 'g2', consumer: 'w1', sink: (lease) => fencedUpsertSink(lease, 'matches', (o) => o.id) })
 */
export async function runMember<I, O, K>(p: Pipeline<I, O, K>, redis: Redis, o: MemberOptions<O>): Promise<MemberSummary> {
  const { group, consumer } = o
  const leaseMs = o.leaseMs ?? 1500
  const heartbeatMs = o.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3))
  const instance = randomUUID()
  // The sorted set redisSource heartbeats into too, so a member of either kind sees the other.
  const membersKey = `weir:members:${group}`
  const idleKey = `weir:group:${group}:idle`
  const bySource = topicsBySource(p as Pipeline<unknown, unknown, unknown>, o.topics)
  const topics = bySource === undefined ? (o.topics as readonly string[]) : Object.values(bySource).flat()
  const counts = await Promise.all(topics.map(async (t) => Number(await redis.hget('weir:topics', t))))
  counts.forEach((c, i) => {
    if (!(c >= 1)) throw new Error(`runMember: topic '${topics[i]}' is not declared (createTopic, or write to it first)`)
  })
  if (new Set(counts).size !== 1) throw new Error(`runMember: topics ${topics.join(', ')} have different partition counts (${counts.join(', ')}); a group reads co-partitioned topics`)
  const n = counts[0]
  /** Partition `part`'s streams of these topics. */
  const streamsOf = (part: number, of: readonly string[]) => of.map((t) => streamKey(t, part))
  for (let part = 0; part < n; part++)
    for (const s of streamsOf(part, topics))
      await redis.xgroup('CREATE', s, group, '0', 'MKSTREAM').catch((e: Error) => {
        if (!e.message.includes('BUSYGROUP')) throw e
      })

  let rekeyed: string | undefined
  const guarded = Array.from({ length: n }, (_, part) => keyedOffPartition(p, part, n, (why) => void (rekeyed ??= why)))
  const refuseRekeyed = () => {
    if (rekeyed !== undefined) throw new RekeyedError(rekeyed)
  }
  interface Owned {
    readonly lease: Lease
    readonly stop: AbortController
    lost: boolean
  }
  const owned = new Map<number, Owned>()
  const runs = new Set<Promise<void>>()
  const total = { eventsIn: 0, eventsOut: 0, deadLetters: 0, late: 0, takeovers: 0, fenced: 0 }
  let failure = undefined as { e: unknown } | undefined
  let ending = false
  let lastData = Date.now()
  let idle = false
  let live: string[] = []
  let reported = ''

  const start = (part: number, lease: Lease) => {
    const stop = new AbortController()
    const entry: Owned = { lease, stop, lost: false }
    owned.set(part, entry)
    total.takeovers++
    /** Partition `part` of these topics, read under the lease. */
    const read = (of: readonly string[]): PulledSource<unknown> => {
      const source = partitionSource<unknown>({
        group,
        consumer,
        streams: streamsOf(part, of),
        lease,
        p: part,
        pollMs: Math.min(50, heartbeatMs),
        maxDeliveries: o.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
        deadLetterStream: o.deadLetterStream,
        encoding: o.encoding,
        ending: () => ending,
        onData: () => {
          lastData = Date.now()
        },
      })
      return {
        ...source,
        // A key of another partition fails the run here, where an error stops it (see keyedOffPartition).
        pull: async (max, options) => {
          refuseRekeyed()
          return source.pull(max, options)
        },
        ack: async (tokens) => {
          refuseRekeyed()
          return source.ack(tokens)
        },
      }
    }
    // Several sources: one input each, all of partition `part`, in one run with one checkpoint
    // (each input's position in it); `run` checks the inputs against the pipeline's sources.
    const input = bySource === undefined ? read(topics) : Object.fromEntries(Object.entries(bySource).map(([name, of]) => [name, read(of)]))
    const store = partitionCheckpoints(redis, group, part, lease)
    const done = run(guarded[part], input as Source<unknown>, {
      ...o.run,
      sink: o.sink(lease),
      checkpoint: {
        store: {
          load: () => store.load(),
          // Never a checkpoint of state split by a wrong key.
          save: async (c) => {
            refuseRekeyed()
            await store.save(c)
          },
        },
        everyEvents: o.checkpointEvery ?? 1000,
      },
      handoff: stop.signal,
      // Small batches: a member yields between them, to heartbeat and to hand partitions over.
      highWaterMark: 64,
    })
      .then(
        async ({ metrics }: { metrics: RunMetrics }) => {
          total.eventsIn += metrics.eventsIn
          total.eventsOut += metrics.eventsOut
          total.deadLetters += metrics.deadLetters
          total.late += metrics.late
          await lease.release()
        },
        (e: unknown) => {
          if (e instanceof FencedError) {
            total.fenced++
            o.onFenced?.(part)
            // The entries it read since its last checkpoint are pending here, in no state: a
            // member ending now would leave them behind. It takes the partition back (or lets its
            // new owner claim them) and decides again when the group is drained.
            if (!o.signal?.aborted) ending = false
          } else failure ??= { e }
        },
      )
      .finally(() => {
        owned.delete(part)
        runs.delete(done)
      })
    runs.add(done)
  }

  /**
   * Nothing left for the group: every entry delivered, none pending but at live idle members or at
   * this member's own partitions still running under their lease (which read all that is pending at
   * them before they stop). A partition it lost, or is handing over, is not one: what is pending
   * here for it waits for its next owner.
   */
  const drained = async (): Promise<boolean> => {
    const reading = (part: number) => {
      const x = owned.get(part)
      return x !== undefined && !x.lost && !x.stop.signal.aborted
    }
    const idleMembers = new Set(await redis.smembers(idleKey))
    const alive = new Set(live)
    for (let part = 0; part < n; part++)
      for (const s of streamsOf(part, topics)) {
        const info = (await redis.xinfo('STREAM', s)) as unknown[]
        if (Number(field(info, 'length')) === 0) continue
        const g = ((await redis.xinfo('GROUPS', s)) as unknown[][]).find((x) => field(x, 'name') === group)
        if (g === undefined || field(g, 'last-delivered-id') !== field(info, 'last-generated-id')) return false
        if (Number(field(g, 'pending')) === 0) continue
        for (const c of (await redis.xinfo('CONSUMERS', s, group)) as unknown[][]) {
          const name = String(field(c, 'name'))
          if (Number(field(c, 'pending')) === 0) continue
          if (name === consumer ? !reading(part) : !alive.has(name) || !idleMembers.has(name)) return false
        }
      }
    return true
  }

  const beat = async () => {
    // Leases first, all at once: a member whose partitions keep its event loop busy must not let
    // them lapse while it waits for its turn.
    const held = [...owned].filter(([, x]) => !x.lost && !x.stop.signal.aborted)
    const renewed = await Promise.all(held.map(([, x]) => x.lease.renew(leaseMs)))
    const now = Date.now()
    await redis.zadd(membersKey, now, consumer)
    live = (await redis.zrangebyscore(membersKey, now - leaseMs, '+inf')).sort()
    const want = assignPartitions(n, live)
    held.forEach(([part, x], i) => {
      if (!renewed[i]) {
        // Taken while this member could not renew (paused, cut off): every write it tries is refused.
        x.lost = true
        x.stop.abort()
      } else if (want[part] !== consumer || o.signal?.aborted) x.stop.abort()
    })
    if (!ending && !o.signal?.aborted)
      for (let part = 0; part < n; part++) {
        if (want[part] !== consumer || owned.has(part)) continue
        const lease = await acquireLease(redis, group, part, consumer, instance, leaseMs)
        if (lease !== undefined) start(part, lease)
      }
    const mine = [...owned.keys()].sort((a, b) => a - b)
    if (mine.join(',') !== reported) {
      reported = mine.join(',')
      o.onOwned?.(mine)
    }
    if (o.idleExitMs !== undefined && !ending) {
      const quiet = Date.now() - lastData >= o.idleExitMs
      if (quiet !== idle) {
        idle = quiet
        if (quiet) await redis.sadd(idleKey, consumer)
        else await redis.srem(idleKey, consumer)
      }
      if (quiet && (await drained())) ending = true
    }
  }

  try {
    for (;;) {
      if (failure !== undefined) throw failure.e
      const leaving = ending || o.signal?.aborted === true
      if (leaving && owned.size === 0 && runs.size === 0) break
      await beat()
      await new Promise((r) => setTimeout(r, heartbeatMs))
    }
  } finally {
    for (const x of owned.values()) x.stop.abort()
    await Promise.allSettled([...runs])
    await redis.zrem(membersKey, consumer)
    await redis.srem(idleKey, consumer)
  }
  const failed = failure as { e: unknown } | undefined
  if (failed !== undefined) throw failed.e
  return total
}

/**
 * A sink that upserts outputs into a Redis hash (`HSET key JSON`, or `HDEL` for `undefined`)
 * through a partition's lease: a batch is written only while the lease holds, atomically.
 *
 * @example
 * fencedUpsertSink(lease, 'view', (o) => o.key)
 */
export function fencedUpsertSink<O>(lease: Lease, hash: string, key: (o: O) => string | number, value: (o: O) => unknown = (x) => x): Sink<O> {
  return fencedSink(lease, (out) => {
    const v = value(out)
    return v === undefined ? ['HDEL', hash, String(key(out))] : ['HSET', hash, String(key(out)), JSON.stringify(v)]
  })
}

/** A sink writing one command per output through the lease, in batches of up to 256. */
export function fencedSink<O>(lease: Lease, command: (o: O) => readonly (string | number)[], batch = 256): Sink<O> {
  let queued: (readonly (string | number)[])[] = []
  let inFlight: Promise<unknown> = Promise.resolve()
  const send = (): Promise<void> => {
    if (queued.length > 0) {
      const commands = queued
      queued = []
      inFlight = Promise.all([inFlight, lease.exec(commands)])
    }
    return inFlight.then(() => undefined)
  }
  return {
    write(o) {
      queued.push(command(o))
      if (queued.length >= batch) return send()
    },
    flush: send,
    close: send,
  }
}
