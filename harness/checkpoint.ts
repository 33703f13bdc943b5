import { mkdirSync, readFileSync, renameSync, openSync, fsyncSync, closeSync, writeSync, unlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import type { InputIdentity } from './inputIdentity.ts'

/**
 * A consistent cut of a run: every operator's state and the source position it corresponds to,
 * taken between two source records after all asynchronous work and sink writes had finished, with
 * what it was taken for (the plan's stateful stages, the input), checked on restore. Plain JSON
 * data: a store keeps it with `JSON.stringify`. See docs/checkpoints.md.
 */
export interface Checkpoint {
  readonly version: 2
  /** The pipeline's name, checked on restore. */
  readonly pipeline: string
  /** The shape of each stateful stage's state, in plan order (`stateShapes`), checked on restore. */
  readonly plan: readonly string[]
  /** The input it was taken from (a log, a broker's topics and group), checked on restore when both sides have one. */
  readonly input?: InputIdentity
  /** Source records consumed before the cut: a replayable source (array, iterable, log) skips them on restore. */
  readonly offset: number
  /** A multi-source run's offset in each of its inputs, by source name (`offset` is their sum). */
  readonly offsets?: Readonly<Record<string, number>>
  /** Outputs the run had emitted (and the sink written) before the cut. */
  readonly outputs: number
  /**
   * Each stateful machine's `snapshot()`, in the pipeline's (deterministic) subscription order, in
   * weir's tagged JSON (`encodeTagged`), so that `Infinity`, `NaN`, `-0`, BigInt, Date, Map, Set,
   * `undefined` and Buffers come back as they were.
   */
  readonly operators: readonly unknown[]
  /**
   * Acknowledgement tokens of pulled records (Redis, CDC) the cut covers. They are acknowledged
   * after the checkpoint is saved, and again on restore, so a crash between the two cannot make the
   * broker redeliver records whose effect is already in the restored state. A multi-source run's
   * are `[source name, token]` pairs, so each input re-acknowledges its own.
   */
  readonly acked: readonly unknown[]
}

/**
 * A checkpoint written before the tagged encoding and fingerprints (plain JSON state), still restored: its state
 * as JSON left it, checked only by pipeline name and number of stateful stages.
 */
export interface CheckpointV1 {
  readonly version: 1
  readonly pipeline: string
  readonly offset: number
  readonly outputs: number
  readonly operators: readonly unknown[]
  readonly acked: readonly unknown[]
}

/**
 * A stored checkpoint read back, or an error naming where it came from (`where`): a store holding
 * something else (a truncated file, another program's JSON) must stop the run, saying so, rather
 * than restore garbage or fail deep in a restore.
 */
export function parseCheckpoint(text: string, where: string): Checkpoint | CheckpointV1 {
  let c: unknown
  try {
    c = JSON.parse(text)
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const o = c as Partial<Record<keyof Checkpoint, unknown>>
  const ok =
    typeof c === 'object' && c !== null && (o.version === 1 || (o.version === 2 && Array.isArray(o.plan))) && typeof o.pipeline === 'string' &&
    typeof o.offset === 'number' && typeof o.outputs === 'number' && Array.isArray(o.operators) && Array.isArray(o.acked)
  if (!ok) throw new Error(`${where} is not a weir checkpoint (version 2 with pipeline, plan, offset, outputs, operators, acked)`)
  return c as Checkpoint | CheckpointV1
}

/**
 * A checkpoint that does not belong to this run: taken for another pipeline, for a plan whose
 * stateful stages have changed since, or from another input. The message is one line naming what
 * differs; the run starts nothing (the CLI exits with code 3).
 */
export class CheckpointMismatchError extends Error {
  override readonly name = 'CheckpointMismatchError'
  /** What differs, without advice (`checkpoint was taken for a different plan: ...`). */
  readonly reason: string

  constructor(reason: string) {
    super(`run: ${reason}; restore it with the pipeline and input it was taken for, or start afresh without it`)
    this.reason = reason
  }
}

/** Where checkpoints are kept. `save` must replace the previous checkpoint atomically. */
export interface CheckpointStore {
  load(): Promise<Checkpoint | CheckpointV1 | undefined>
  save(c: Checkpoint): Promise<void>
}

/** When `run` takes checkpoints, and where it keeps them. */
export interface CheckpointOptions {
  readonly store: CheckpointStore
  /** Take one after every this many source records (default 10 000 when `everyMs` is not given). */
  readonly everyEvents?: number
  /** Take one when this much processing time (the run's scheduler) has passed since the last. */
  readonly everyMs?: number
}

/**
 * Keeps the latest checkpoint in a JSON file, replaced atomically: written to a temporary file,
 * fsynced, then renamed over the old one, so a crash leaves either the old or the new checkpoint.
 *
 * @example
 * await run(p, fromLog('in.ndjson'), { checkpoint: { store: fileCheckpoints('state/cp.json'), everyEvents: 5000 } })
 */
export function fileCheckpoints(path: string): CheckpointStore {
  return {
    async load() {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw e
      }
      return parseCheckpoint(text, `checkpoint file ${path}`)
    },
    async save(c) {
      const dir = dirname(path)
      mkdirSync(dir, { recursive: true })
      // A name nobody can guess, created only if absent ('wx'): a file or symlink planted there
      // beforehand is never followed or written through.
      const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`
      const fd = openSync(tmp, 'wx', 0o600)
      try {
        try {
          writeSync(fd, JSON.stringify(c))
          fsyncSync(fd)
        } finally {
          closeSync(fd)
        }
        renameSync(tmp, path)
      } catch (e) {
        try {
          unlinkSync(tmp)
        } catch {
          // Already renamed or gone: the error to report is the one above.
        }
        throw e
      }
      // The rename is durable only once the directory entry is on disk.
      const dirFd = openSync(dir, 'r')
      try {
        fsyncSync(dirFd)
      } finally {
        closeSync(dirFd)
      }
    },
  }
}

/** The two Redis commands a Redis checkpoint store needs (an ioredis client has them). */
export interface RedisKV {
  get(key: string): Promise<string | null>
  set(key: string, value: string): Promise<unknown>
}

/**
 * Keeps the latest checkpoint under one Redis key (a single SET, atomic by nature), so a worker
 * restarted on another machine finds it.
 *
 * @example
 * const store = redisCheckpoints(new Redis(process.env.REDIS_URL!), 'weir:cp:delays:worker-1')
 */
export function redisCheckpoints(redis: RedisKV, key: string): CheckpointStore {
  return {
    async load() {
      const text = await redis.get(key)
      return text === null ? undefined : parseCheckpoint(text, `checkpoint ${key} in Redis`)
    },
    async save(c) {
      await redis.set(key, JSON.stringify(c))
    },
  }
}
