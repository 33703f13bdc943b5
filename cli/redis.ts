import type { Pipeline } from '../dsl/pipeline.ts'
import type { Key } from '../dsl/stream.ts'
import { run } from '../harness/run.ts'
import { fileCheckpoints } from '../harness/checkpoint.ts'
import type { Sink } from '../connectors/sinks.ts'
import { DEFAULT_MAX_DELIVERIES, redisSink, redisSource, redisUpsertSink } from '../connectors/redis/index.ts'
import { UsageError } from './args.ts'
import { errorMessage } from '../dsl/sides.ts'
import { importPeer } from './peers.ts'
import type { Redis } from 'ioredis'
import { sideOutputLine } from '../harness/sideOutputLine.ts'
import { printable } from './output.ts'
import { isStatelessPipeline } from '../dsl/plan.ts'
import { sourceNames } from '../dsl/pipeline.ts'
import { sourceTopicsOf } from './sourceTopics.ts'
import { openPgSource, pgMappingOf, type PostgresFlags } from './pgSource.ts'
import type { Source } from '../connectors/sources.ts'
import { RekeyedError } from '../harness/rekeyed.ts'
import { fencedSink, fencedUpsertSink, runMember, topicReadTwice } from '../connectors/redis/member.ts'
import { topicsMatching, createTopic, streamKey } from '../connectors/redis/topic.ts'
import { partitionOf } from '../connectors/partition.ts'
import type { DeadLetter, Late } from '../dsl/sides.ts'
import type { Encoding } from '../connectors/encodings/encoding.ts'
import { encodingFlags, type EncodingFlags } from './encoding.ts'

/** `weir run <module> --redis <url> --from <topics|glob> --group <g> --consumer <c> [...]` */
export interface RedisRun {
  readonly url: string
  /** Comma-separated topic names, or one glob (`*`, `?`). */
  readonly from: string
  readonly group: string
  readonly consumer: string
  /** Append outputs to this topic (with `partitions`) ... */
  readonly to: string | undefined
  readonly partitions: number
  /** ... or upsert them into this Redis hash; with neither, outputs go to stdout as NDJSON. */
  readonly upsert: string | undefined
  /** The output field that keys the sink (a `Change`'s own key is used for changelogs). */
  readonly key: string
  /** Exit once idle this long and the group is drained (ms); without it, run until SIGINT/SIGTERM. */
  readonly idleExitMs: number | undefined
  /** Start reading only once this many members of the group are live (default 1; stateless pipelines only). */
  readonly members: number
  /** Whether `--members` was given (a stateful run says it ignores it). */
  readonly membersGiven: boolean
  /** A partition's lease, in ms (stateful pipelines; default 1500): a dead member's partitions move after it. */
  readonly leaseMs: number | undefined
  /** Keep checkpoints (operator state + acknowledged entries) in this file, and resume from it. */
  readonly checkpoint: string | undefined
  /** Records between checkpoints (default 10,000; a stateful group member's, per partition: 1,000 unless --checkpoint is given). */
  readonly checkpointEvery: number
  /** An entry delivered more than this many times goes to the dead-letter stream (default 5). */
  readonly maxDeliveries: number
  /** The stream poison entries go to (default `<topic>:dead-letters`). */
  readonly deadLetterStream: string | undefined
  /** `--encoding` / `--schema`: how the topics' events are written (JSON text without them). */
  readonly encoding?: EncodingFlags
}

/** The `--redis` option set of `weir run`: the flags it adds and how they are read. */
export const REDIS_FLAGS = {
  redis: 'string',
  from: 'string',
  group: 'string',
  consumer: 'string',
  to: 'string',
  partitions: 'string',
  upsert: 'string',
  key: 'string',
  'idle-exit': 'string',
  members: 'string',
  lease: 'string',
  checkpoint: 'string',
  'checkpoint-every': 'string',
  'max-deliveries': 'string',
  'dead-letter-stream': 'string',
  encoding: 'string',
  schema: 'string',
} as const

const positiveInt = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`)
  return n
}

/** Reads the `--redis` option set from parsed flags, or undefined when `--redis` is absent. */
export function redisRunOf(flags: ReadonlyMap<string, string | true>): RedisRun | undefined {
  const get = (k: string) => flags.get(k) as string | undefined
  const url = get('redis')
  const used = Object.keys(REDIS_FLAGS).filter((k) => k !== 'redis' && flags.has(k))
  if (url === undefined) {
    if (flags.has('encoding') || flags.has('schema'))
      throw new UsageError(`--${flags.has('encoding') ? 'encoding' : 'schema'} is for --redis runs: a log file names its own encoding (weir convert writes one)`)
    if (used.length > 0) throw new UsageError(`--${used[0]} needs --redis <url>`)
    return undefined
  }
  for (const k of ['from', 'group', 'consumer'] as const) if (!flags.has(k)) throw new UsageError(`run --redis needs --${k}`)
  if (flags.has('to') && flags.has('upsert')) throw new UsageError('run --redis takes --to <topic> or --upsert <hash>, not both')
  if (flags.has('checkpoint-every') && !flags.has('checkpoint')) throw new UsageError('--checkpoint-every needs --checkpoint <file>')
  if (flags.has('partitions') && !flags.has('to')) throw new UsageError('--partitions needs --to <topic> (the partitions of the output topic)')
  return {
    url,
    from: get('from')!,
    group: get('group')!,
    consumer: get('consumer')!,
    to: get('to'),
    partitions: positiveInt('partitions', get('partitions'), 1),
    upsert: get('upsert'),
    key: get('key') ?? 'key',
    idleExitMs: flags.has('idle-exit') ? positiveInt('idle-exit', get('idle-exit'), 0) : undefined,
    members: positiveInt('members', get('members'), 1),
    membersGiven: flags.has('members'),
    leaseMs: flags.has('lease') ? positiveInt('lease', get('lease'), 0) : undefined,
    checkpoint: get('checkpoint'),
    checkpointEvery: positiveInt('checkpoint-every', get('checkpoint-every'), 10_000),
    maxDeliveries: positiveInt('max-deliveries', get('max-deliveries'), DEFAULT_MAX_DELIVERIES),
    deadLetterStream: get('dead-letter-stream'),
    encoding: encodingFlags(get('encoding'), get('schema')),
  }
}

/**
 * Appends lines to a Redis stream (field `e`, as topics hold entries), in order. Written on the
 * sink's connection: Redis runs one connection's commands in order, so a dead letter is stored
 * before the sink's next flush completes, and so before the records after it are acknowledged.
 */
function streamWriter(redis: Redis, stream: string, flag: string): { line(s: string): void; close(): Promise<void> } {
  let last: Promise<unknown> = Promise.resolve()
  let failure: unknown
  return {
    line(s) {
      last = redis.xadd(stream, '*', 'e', s).catch((e: unknown) => {
        failure ??= e
      })
    },
    async close() {
      await last
      if (failure !== undefined) throw new Error(`cannot write ${flag} ${stream}: ${errorMessage(failure)}`)
    },
  }
}

const isChange = (o: unknown): o is { op: 'upsert' | 'delete'; key: Key; after?: unknown } =>
  typeof o === 'object' && o !== null && ((o as { op?: unknown }).op === 'upsert' || (o as { op?: unknown }).op === 'delete') && 'key' in o

/**
 * Runs a pipeline as one member of a Redis Streams consumer group: start several with the same
 * `--group` and they split the partitions; kill one and the others claim its pending entries.
 * Returns the exit code.
 */
export async function redisRunCommand(
  p: Pipeline<unknown, unknown, unknown>,
  o: RedisRun,
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } },
  options: { failFast?: boolean; deadLetters?: string; late?: string; encoding?: Encoding; postgres?: PostgresFlags } = {},
): Promise<number> {
  // ioredis is an optional peer: loaded only here, so `weir run --log` works without it.
  const { Redis } = await importPeer('ioredis', () => import('ioredis'), '--redis')
  let connected = false
  // No retries until connected: a wrong URL is a usage mistake to report at once, not to retry forever.
  const redis = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : null) })
  // Connection errors surface where they matter (connecting, a command); without a listener ioredis
  // prints every one with its stack. Once running, a dropped connection is one line while it retries.
  let socketError: Error | undefined
  redis.on('error', (e: Error) => {
    if (connected) io.stderr.write(`weir: redis: ${e.message}\n`)
    else socketError = e
  })
  try {
    await redis.connect()
    connected = true
  } catch (e) {
    redis.disconnect()
    // ioredis rejects with "Connection is closed."; the socket's error says why (ECONNREFUSED, ENOTFOUND).
    throw new UsageError(`cannot connect to --redis ${o.url}: ${errorMessage(socketError ?? e)}`)
  }
  const keyOf = (v: unknown): Key => (isChange(v) ? v.key : ((v as Record<string, Key>)[o.key] ?? ''))
  let sink: Sink<unknown>
  if (o.to !== undefined) sink = redisSink(redis, { topic: o.to, partitions: o.partitions, key: keyOf })
  else if (o.upsert !== undefined)
    sink = redisUpsertSink(redis, { hash: o.upsert, key: keyOf, value: (v) => (isChange(v) ? (v.op === 'delete' ? undefined : v.after) : v) })
  else sink = { write: (v) => void io.stdout.write(JSON.stringify(v) + '\n') }
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const glob = /[*?]/.test(o.from)
  try {
    const sourceTopics = sourceTopicsOf(o.from, sourceNames(p))
    const fromPg = pgMappingOf(o.from, sourceTopics, options.postgres, { pipeline: p.name, stateless: isStatelessPipeline(p), checkpoint: o.checkpoint !== undefined })
    // A stateful pipeline keeps its state per partition in Redis, so members can come and go (with
    // several sources, partition p of each source's topic goes with partition p); with
    // --checkpoint <file>, one process keeps its whole state in that file, and must run alone.
    if (!isStatelessPipeline(p) && o.checkpoint === undefined) return await memberRun(p, o, redis, io, { ...options, sourceTopics })
    const readFrom = (from: string, glob: boolean) => redisSource(redis, {
      ...(glob ? { pattern: from } : { topics: from.split(',') }),
      group: o.group,
      consumer: o.consumer,
      stopWhenIdleMs: o.idleExitMs,
      minMembers: o.members,
      alone: o.checkpoint !== undefined && !isStatelessPipeline(p),
      signal: stop.signal,
      maxDeliveries: o.maxDeliveries,
      deadLetterStream: o.deadLetterStream,
      encoding: options.encoding,
    })
    // One input per source for a pipeline with several (run checks them against its sources).
    const pgSource = fromPg && (await openPgSource(fromPg, { idleExitMs: o.idleExitMs, signal: stop.signal, note: (line) => io.stderr.write(line + '\n') }))
    const source = (
      sourceTopics === undefined ? readFrom(o.from, glob) : mapValues(sourceTopics, (topic, name) => (name === fromPg?.source ? pgSource! : readFrom(topic, /[*?]/.test(topic))))
    ) as Source<unknown>
    const checkpoint = o.checkpoint === undefined ? undefined : { store: fileCheckpoints(o.checkpoint), everyEvents: o.checkpointEvery }
    const deadStream = options.deadLetters === undefined ? undefined : streamWriter(redis, options.deadLetters, '--dead-letters')
    const lateStream = options.late === undefined ? undefined : streamWriter(redis, options.late, '--late')
    const { metrics } = await run(p, source, {
      sink,
      checkpoint,
      failFast: options.failFast,
      // A long-running consumer keeps no side output in memory: each dead letter is a line of its
      // own on stderr as it happens, and every one goes to --dead-letters / --late when given.
      keepSideOutputs: false,
      onDeadLetter: (d) => {
        io.stderr.write(`weir: dead letter (${d.reason}) in ${d.stage} at offset ${d.pos}: ${printable(d.message)}\n`)
        deadStream?.line(sideOutputLine(d))
      },
      onLate: lateStream && ((l) => lateStream.line(sideOutputLine(l))),
    })
    await deadStream?.close()
    await lateStream?.close()
    io.stderr.write(`weir: ${p.name} (${o.group}/${o.consumer}): ${metrics.eventsIn} events in, ${metrics.eventsOut} out, ${metrics.deadLetters} dead letters, ${metrics.late} late\n`)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    redis.disconnect()
  }
}

/**
 * A stateful pipeline as a group member (`runMember`): state, watermarks and checkpoints per
 * partition, checkpoints in Redis, partitions moved with their state as members come and go, and
 * every write fenced by the partition's lease. Says on stderr which partitions it owns whenever that
 * changes.
 */
async function memberRun(
  p: Pipeline<unknown, unknown, unknown>,
  o: RedisRun,
  redis: Redis,
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } },
  options: { failFast?: boolean; deadLetters?: string; late?: string; encoding?: Encoding; sourceTopics?: Readonly<Record<string, string>> },
): Promise<number> {
  const who = `${o.group}/${o.consumer}`
  if (o.membersGiven) io.stderr.write(`weir: --members is ignored for a stateful pipeline: members join and leave at any time, partitions move with their state\n`)
  const resolve = async (from: string, what: string) => {
    const found = /[*?]/.test(from) ? (await topicsMatching(redis, from)).map((t) => t.name) : from.split(',')
    if (found.length === 0) throw new UsageError(`--from ${o.from}${what} matches no declared topic`)
    return found
  }
  const bySource = options.sourceTopics === undefined ? undefined : await topicsOfSources(options.sourceTopics, (from, name) => resolve(from, `: source '${name}' (${from})`), o.from)
  const topics = bySource === undefined ? await resolve(o.from, '') : Object.values(bySource).flat()
  const keyOf = (v: unknown): Key => (isChange(v) ? v.key : ((v as Record<string, Key>)[o.key] ?? ''))
  if (o.to !== undefined) await createTopic(redis, o.to, o.partitions)
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const deadStream = options.deadLetters === undefined ? undefined : streamWriter(redis, options.deadLetters, '--dead-letters')
  const lateStream = options.late === undefined ? undefined : streamWriter(redis, options.late, '--late')
  try {
    const total = await runMember(p, redis, {
      topics: bySource ?? topics,
      group: o.group,
      consumer: o.consumer,
      leaseMs: o.leaseMs,
      checkpointEvery: 1000,
      idleExitMs: o.idleExitMs,
      maxDeliveries: o.maxDeliveries,
      deadLetterStream: o.deadLetterStream,
      encoding: options.encoding,
      signal: stop.signal,
      sink: (lease) =>
        o.to !== undefined
          ? fencedSink(lease, (v) => ['XADD', streamKey(o.to!, partitionOf(keyOf(v), o.partitions)), '*', 'e', JSON.stringify(v)])
          : o.upsert !== undefined
            ? fencedUpsertSink(lease, o.upsert, keyOf, (v) => (isChange(v) ? (v.op === 'delete' ? undefined : v.after) : v))
            : { write: (v) => void io.stdout.write(JSON.stringify(v) + '\n') },
      onOwned: (parts) => io.stderr.write(`weir: ${who} owns partitions [${parts.join(',')}] of ${topics.join(',')}\n`),
      onFenced: (part) => io.stderr.write(`weir: ${who} lost partition ${part} while it could not renew its lease: its writes were refused, another member has it\n`),
      run: {
        failFast: options.failFast,
        keepSideOutputs: false,
        onDeadLetter: (d: DeadLetter) => {
          io.stderr.write(`weir: dead letter (${d.reason}) in ${d.stage} at offset ${d.pos}: ${printable(d.message)}\n`)
          deadStream?.line(sideOutputLine(d))
        },
        onLate: lateStream && ((l: Late) => lateStream.line(sideOutputLine(l))),
      },
    }).catch((e: unknown) => {
      // A pipeline that cannot run per partition is a usage mistake: one line, exit code 2.
      throw e instanceof RekeyedError ? new UsageError(e.message) : e
    })
    await deadStream?.close()
    await lateStream?.close()
    io.stderr.write(`weir: ${p.name} (${who}): ${total.eventsIn} events in, ${total.eventsOut} out, ${total.deadLetters} dead letters, ${total.late} late, ${total.takeovers} partition takeovers, ${total.fenced} fenced\n`)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Each source's topics, its globs resolved; a topic given to two sources is a usage mistake. */
async function topicsOfSources(
  sourceTopics: Readonly<Record<string, string>>,
  resolve: (from: string, name: string) => Promise<string[]>,
  from: string,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const [name, topic] of Object.entries(sourceTopics)) out[name] = await resolve(topic, name)
  const twice = topicReadTwice(out)
  if (twice !== undefined) throw new UsageError(`--from ${from}: ${twice}`)
  return out
}

const mapValues = <A, B>(o: Readonly<Record<string, A>>, f: (a: A, k: string) => B): Record<string, B> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v, k)]))
