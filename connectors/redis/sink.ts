import type { ChainableCommander, Redis } from 'ioredis'
import type { Key } from '../../dsl/stream.ts'
import type { Sink } from '../sinks.ts'
import { partitionOf } from '../partition.ts'
import { createTopic, streamKey } from './topic.ts'
import { asBuffer, type Encoding } from '../encodings/encoding.ts'

/**
 * A sink that sends its writes in pipelined batches: `write` queues a command and returns at once
 * until `batch` commands are queued, then returns the batch's round trip (so the runner holds
 * credit while it is in flight); `flush` sends what is queued and waits for every batch.
 */
class BatchingSink<O> implements Sink<O> {
  private queued: ChainableCommander | undefined
  private count = 0
  private inFlight: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly redis: Redis,
    private readonly batch: number,
    private readonly add: (pipe: ChainableCommander, value: O) => void,
  ) {}

  write(value: O): void | Promise<void> {
    this.queued ??= this.redis.pipeline()
    this.add(this.queued, value)
    if (++this.count >= this.batch) return this.send()
  }

  private send(): Promise<void> {
    const pipe = this.queued
    this.queued = undefined
    this.count = 0
    if (pipe !== undefined) {
      const sent = pipe.exec().then((results) => {
        for (const [err] of results ?? []) if (err) throw err
      })
      this.inFlight = Promise.all([this.inFlight, sent])
    }
    return this.inFlight.then(() => undefined)
  }

  flush(): Promise<void> {
    return this.send()
  }

  close(): Promise<void> {
    return this.send()
  }
}

/** Options of `redisSink`. */
export interface RedisSinkOptions<O> {
  /** The topic written to (declared on first write). */
  readonly topic: string
  readonly partitions: number
  /** The key that picks an output's partition (`partitionOf(key, partitions)`). */
  readonly key: (o: O) => Key
  /** Commands per pipelined round trip (default 256). */
  readonly batch?: number
  /** Cap each partition stream at about this many entries (XADD MAXLEN ~); default: unbounded. */
  readonly maxLen?: number
  /** How outputs are written in the `e` field: JSON text by default, or the bytes of `avro(schema)` or `msgpack()` (docs/encodings.md). */
  readonly encoding?: Encoding
}

/**
 * Appends each output to a Redis Streams topic with XADD, as one entry `{ e: JSON }` (or the bytes of its `encoding`) in the
 * partition its key hashes to, pipelined in batches. Writes are durable (for acknowledgement) once
 * their batch's round trip has completed; the runner flushes before acknowledging.
 *
 * @example
 * await run(p, input, { sink: redisSink(redis, { topic: 'delays', partitions: 4, key: (r) => r.key }) })
 */
export function redisSink<O>(redis: Redis, o: RedisSinkOptions<O>): Sink<O> {
  const { topic, partitions, key, maxLen, encoding } = o
  const batched = new BatchingSink<O>(redis, o.batch ?? 256, (pipe, value) => {
    const stream = streamKey(topic, partitionOf(key(value), partitions))
    const e = encoding === undefined ? JSON.stringify(value) : asBuffer(encoding.encode(value))
    if (maxLen === undefined) pipe.xadd(stream, '*', 'e', e)
    else pipe.xadd(stream, 'MAXLEN', '~', maxLen, '*', 'e', e)
  })
  // The topic is declared (or checked) before the first entry is written: a sink with another
  // partition count than the topic's would send keys to other streams than its readers expect.
  let declared = false
  return {
    write(value) {
      if (declared) return batched.write(value)
      return createTopic(redis, topic, partitions).then(() => {
        declared = true
        return batched.write(value)
      })
    },
    flush: () => batched.flush(),
    close: () => batched.close(),
  }
}

/** Options of `redisUpsertSink`. */
export interface RedisUpsertSinkOptions<O> {
  /** The Redis hash holding the view. */
  readonly hash: string
  readonly key: (o: O) => Key
  /** What is stored for the key (default: the whole output), as JSON; `undefined` deletes the key. */
  readonly value?: (o: O) => unknown
  readonly batch?: number
}

/**
 * An idempotent sink: HSET of each output's key to its value in one Redis hash (HDEL when the value
 * is `undefined`). Redelivered outputs rewrite the same field, so at-least-once delivery ends in the
 * same state as exactly-once.
 *
 * @example
 * const sink = redisUpsertSink(redis, { hash: 'view:delays', key: (r) => r.key, value: (r) => r.value })
 */
export function redisUpsertSink<O>(redis: Redis, o: RedisUpsertSinkOptions<O>): Sink<O> {
  const { hash, key } = o
  const value = o.value ?? ((x: O) => x)
  return new BatchingSink<O>(redis, o.batch ?? 256, (pipe, out) => {
    const v = value(out)
    if (v === undefined) pipe.hdel(hash, String(key(out)))
    else pipe.hset(hash, String(key(out)), JSON.stringify(v))
  })
}
