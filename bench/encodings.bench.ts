import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLog, writeLog } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { json, type Encoding } from '../connectors/encodings/encoding.ts'
import { gc, pairedRatios, type Report } from './util.ts'
import { START, trip, trips, type Trip } from './fixtures/trips.ts'

/**
 * Replay of one 1M-record log written as NDJSON, Avro and MessagePack: each replay beside its
 * decode-only loop (the same events decoded from memory, no log, no pipeline) and beside the NDJSON
 * replay, all in this run; and the files' sizes. Rates are per CPU second: the machine is shared.
 */

const N = 1_000_000

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

async function writeTrips(path: string, encoding: Encoding): Promise<void> {
  const w = writeLog(path, { topic: 'trips', encoding })
  for (let i = 1; i <= N; i++) if (!w.write({ offset: i, arrival: START + i * 3, event: trip(i) })) await w.drained()
  await w.close()
}

/** The events' own bytes, one after another in one buffer, with where each starts. */
function encodeAll(encoding: Encoding): { bytes: Buffer; starts: Float64Array } {
  const parts: Uint8Array[] = []
  const starts = new Float64Array(N + 1)
  for (let i = 1; i <= N; i++) {
    const b = encoding.encode(trip(i))
    parts.push(b)
    starts[i] = starts[i - 1] + b.length
  }
  return { bytes: Buffer.concat(parts), starts }
}

/** The events decoded in place in a plain loop, as the log reader decodes them: what the encoding costs without a log or a pipeline. */
function decodeOnly(encoding: Encoding, { bytes, starts }: { bytes: Buffer; starts: Float64Array }): number {
  let fares = 0
  for (let i = 0; i < N; i++) fares += (encoding.decode(bytes, starts[i], starts[i + 1]) as Trip).fare
  return fares
}

/** CPU time of `fn` in ms, after a collection: other work on the shared machine stretches wall time, not this. */
async function cpuMs(fn: () => unknown): Promise<number> {
  gc()
  const c0 = process.cpuUsage()
  await fn()
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const ROUNDS = 3

export default async function (r: Report): Promise<void> {
  r.section(`encodings: replay of a ${N.toLocaleString('en-US')}-record log as NDJSON, Avro and MessagePack (CPU time, median of ${ROUNDS} rounds)`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-enc-'))
  try {
    const encodings = [json(), avro(TRIP), msgpack()]
    const paths = encodings.map((e) => join(dir, `trips.${e.name}`))
    for (let i = 0; i < encodings.length; i++) await writeTrips(paths[i], encodings[i])
    const events = encodings.map(encodeAll)
    const read = async (path: string) => {
      let n = 0
      for await (const batch of readLog(path)) n += batch.length
      if (n !== N) throw new Error(`bench: read ${n} records`)
    }
    const replayed = async (path: string) => {
      const res = await replay(trips, path, { keepOutput: false })
      if (res.metrics.eventsIn !== N || res.metrics.deadLetters !== 0) throw new Error(`bench: replayed ${res.metrics.eventsIn} records`)
    }
    // One warm-up of each, then rounds in turns, so that each round compares the loops and
    // replays on the same machine (paired ratios); figures are medians.
    for (let i = 0; i < encodings.length; i++) {
      decodeOnly(encodings[i], events[i])
      await replayed(paths[i])
    }
    const tDecode: number[][] = encodings.map(() => [])
    const tRead: number[][] = encodings.map(() => [])
    const tReplay: number[][] = encodings.map(() => [])
    for (let round = 0; round < ROUNDS; round++)
      for (let i = 0; i < encodings.length; i++) {
        tDecode[i].push(await cpuMs(() => decodeOnly(encodings[i], events[i])))
        tRead[i].push(await cpuMs(() => read(paths[i])))
        tReplay[i].push(await cpuMs(() => replayed(paths[i])))
      }
    for (let i = 0; i < encodings.length; i++) {
      const name = encodings[i].name
      r.figure(`${name}: file size`, statSync(paths[i]).size / 2 ** 20, 'MiB')
      r.figure(`${name}: decode-only loop over the events`, (N / median(tDecode[i])) * 1000, 'records/CPU s')
      r.figure(`${name}: readLog (framing + decoding)`, (N / median(tRead[i])) * 1000, 'records/CPU s')
      r.figure(`${name}: replay through the pipeline`, (N / median(tReplay[i])) * 1000, 'records/CPU s')
      r.ratios(`${name}: replay rate / decode-only rate`, pairedRatios(tDecode[i], tReplay[i]), name === 'json' ? undefined : '>= 0.8')
    }
    r.ratios('avro replay rate / NDJSON replay rate', pairedRatios(tReplay[0], tReplay[1]), '>= 2.5')
    r.ratios('msgpack replay rate / NDJSON replay rate', pairedRatios(tReplay[0], tReplay[2]), '>= 2.5')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
