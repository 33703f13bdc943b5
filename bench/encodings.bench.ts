import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLog, writeLog } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import { avro } from '../connectors/encodings/avro.ts'
import { msgpack } from '../connectors/encodings/msgpack.ts'
import { json, type Encoding } from '../connectors/encodings/encoding.ts'
import { gc, timeBest, type Report } from './util.ts'
import { START, trip, trips, type Trip } from './fixtures/trips.ts'

/**
 * Replay of one 1M-record log written as NDJSON, Avro and MessagePack: each replay beside its
 * decode-only loop (the same events decoded from memory, no log, no pipeline) and beside the NDJSON
 * replay, all in this run; and the files' sizes.
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

export default async function (r: Report): Promise<void> {
  r.section(`encodings: replay of a ${N.toLocaleString('en-US')}-record log as NDJSON, Avro and MessagePack`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-enc-'))
  try {
    const encodings = [json(), avro(TRIP), msgpack()]
    const replays: number[] = []
    for (const e of encodings) {
      const path = join(dir, `trips.${e.name}`)
      await writeTrips(path, e)
      let events: ReturnType<typeof encodeAll> | undefined = encodeAll(e)
      gc()
      const tDecode = await timeBest(() => decodeOnly(e, events!), 2)
      events = undefined
      gc()
      const tRead = await timeBest(async () => {
        let n = 0
        for await (const batch of readLog(path)) n += batch.length
        if (n !== N) throw new Error(`bench: read ${n} records`)
      }, 2)
      gc()
      const tReplay = await timeBest(async () => {
        const res = await replay(trips, path, { keepOutput: false })
        if (res.metrics.eventsIn !== N || res.metrics.deadLetters !== 0) throw new Error(`bench: replayed ${res.metrics.eventsIn} records`)
      }, 2)
      replays.push(tReplay)
      r.figure(`${e.name}: file size`, statSync(path).size / 2 ** 20, 'MiB')
      r.figure(`${e.name}: decode-only loop over the events`, (N / tDecode) * 1000, 'records/s')
      r.figure(`${e.name}: readLog (framing + decoding)`, (N / tRead) * 1000, 'records/s')
      r.figure(`${e.name}: replay through the pipeline`, (N / tReplay) * 1000, 'records/s')
      r.ratio(`${e.name}: replay rate / decode-only rate`, tDecode, tReplay, e.name === 'json' ? undefined : '>= 0.8')
    }
    r.ratio('avro replay rate / NDJSON replay rate', replays[0], replays[1], '>= 2.5')
    r.ratio('msgpack replay rate / NDJSON replay rate', replays[0], replays[2], '>= 2.5')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
