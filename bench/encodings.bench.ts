import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLog, writeLog } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { blockCodec, json, type BlockCodec, type Encoding } from '../connectors/encodings/encoding.ts'
import { gc, pairedRatios, timeInProcesses, type Report } from './util.ts'
import { START, trip, trips, type Trip } from './fixtures/trips.ts'

/**
 * Replay of one 1M-record log written as NDJSON, Avro and MessagePack: each replay beside its
 * decode-only loop (the same events, laid out as the log holds them, decoded from memory: no log,
 * no pipeline) and beside the NDJSON replay; and the files' sizes. Every contender runs alone in a
 * fresh process, in turns, timed in CPU time (the machine is shared; see `timeInProcesses`), so no
 * loop or reader sees another encoding's events (a call site that saw three decoders is slower
 * than one that saw one, as no user's job would be).
 */

const N = 1_000_000
const ROUNDS = 5

const TRIP = {
  type: 'record',
  name: 'Trip',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'zone', type: 'string' },
    { name: 'ts', type: 'long' },
    { name: 'fare', type: 'double' },
  ],
}

const ENCODINGS = { json, avro: () => avro(TRIP), msgpack } as const
type Name = keyof typeof ENCODINGS
const NAMES = Object.keys(ENCODINGS) as Name[]

/** Where the parent process wrote the logs its contenders read. */
const DIR = 'WEIR_BENCH_ENCODINGS_DIR'
const logOf = (name: Name): string => join(process.env[DIR]!, `trips.${name}`)

async function writeTrips(path: string, encoding: Encoding): Promise<void> {
  const w = writeLog(path, { topic: 'trips', encoding })
  for (let i = 1; i <= N; i++) if (!w.write({ offset: i, arrival: START + i * 3, event: trip(i) })) await w.drained()
  await w.close()
}

interface Encoded {
  readonly bytes: Buffer
  readonly starts: Float64Array
  /** Reads them, as a log reader reads a block of them. */
  readonly codec: BlockCodec
}

/**
 * The events' own bytes as a binary log's blocks hold them (MessagePack as records), one after
 * another in one buffer, with where each starts. Built once per process, outside the timing.
 */
const encoded = new Map<Name, Encoded>()
function encodeAll(name: Name): Encoded {
  const done = encoded.get(name)
  if (done !== undefined) return done
  const writer = blockCodec(ENCODINGS[name]())
  const parts: Uint8Array[] = []
  const starts = new Float64Array(N + 1)
  for (let i = 1; i <= N; i++) {
    const b = writer.encode(trip(i))
    parts.push(b)
    starts[i] = starts[i - 1] + b.length
  }
  const shared = writer.seal()
  const codec = blockCodec(ENCODINGS[name]())
  codec.open(shared, 0, shared.length)
  const e = { bytes: Buffer.concat(parts), starts, codec }
  encoded.set(name, e)
  // The million encoded pieces are garbage now: collected here, not in the timed run (msgpackr's
  // pieces are views of its buffers, and a timed run that had to collect them measured 2.5x slower).
  parts.length = 0
  gc()
  return e
}

const BATCH = 1024

/**
 * Every event decoded in place, kept in a batch of 1024 as the log reader keeps them, then read as
 * the bench's pipeline reads it (time, fare and zone): what the encoding costs without a log or a
 * pipeline. (An earlier loop read one field and kept nothing, which left V8 free to skip building
 * what the pipeline needs; it measured about the same.)
 */
function decodeOnly({ bytes, starts, codec }: Encoded): number {
  const batch: unknown[] = new Array(BATCH)
  let sum = 0
  for (let i = 0; i < N; i += BATCH) {
    const n = Math.min(BATCH, N - i)
    for (let k = 0; k < n; k++) batch[k] = codec.decode(bytes, starts[i + k], starts[i + k + 1])
    for (let k = 0; k < n; k++) {
      const t = batch[k] as Trip
      sum += t.fare + t.ts + t.zone.length
    }
  }
  return sum
}

async function read(name: Name): Promise<void> {
  let n = 0
  for await (const batch of readLog(logOf(name))) n += batch.length
  if (n !== N) throw new Error(`bench: read ${n} records`)
}

async function replayed(name: Name): Promise<void> {
  const res = await replay(trips, logOf(name), { keepOutput: false })
  if (res.metrics.eventsIn !== N || res.metrics.deadLetters !== 0) throw new Error(`bench: replayed ${res.metrics.eventsIn} records`)
}

/** Each contender times the whole log (its `n` is N), alone in its process. */
export const contenders: Record<string, (n: number) => unknown> = {}
for (const name of NAMES) {
  contenders[`${name}:decode`] = () => {
    const e = encodeAll(name)
    return decodeOnly(e)
  }
  contenders[`${name}:read`] = () => read(name)
  contenders[`${name}:replay`] = () => replayed(name)
}

export default async function (r: Report): Promise<void> {
  r.section(`encodings: replay of a ${N.toLocaleString('en-US')}-record log as NDJSON, Avro and MessagePack (CPU time, fresh processes, median of ${ROUNDS} rounds)`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-enc-'))
  process.env[DIR] = dir
  try {
    for (const name of NAMES) await writeTrips(logOf(name), ENCODINGS[name]())
    const t = timeInProcesses('encodings.bench.ts', Object.keys(contenders), N, ROUNDS, 'cpu')
    const rate = (times: readonly number[]) => (N / median(times)) * 1000
    for (const name of NAMES) {
      r.figure(`${name}: file size`, statSync(logOf(name)).size / 2 ** 20, 'MiB')
      r.figure(`${name}: decode-only loop over the events`, rate(t[`${name}:decode`]), 'records/CPU s')
      r.figure(`${name}: readLog (framing + decoding)`, rate(t[`${name}:read`]), 'records/CPU s')
      r.figure(`${name}: replay through the pipeline`, rate(t[`${name}:replay`]), 'records/CPU s')
      r.ratios(`${name}: replay rate / decode-only rate`, pairedRatios(t[`${name}:decode`], t[`${name}:replay`]), name === 'json' ? undefined : '>= 0.8')
    }
    r.ratios('avro replay rate / NDJSON replay rate', pairedRatios(t['json:replay'], t['avro:replay']), '>= 2.5')
    r.ratios('msgpack replay rate / NDJSON replay rate', pairedRatios(t['json:replay'], t['msgpack:replay']), '>= 2.5')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
