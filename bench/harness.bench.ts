import { Observable, VirtualTimeScheduler, type Subscriber } from 'rxjs'
import { mkdtempSync, rmSync, createReadStream, createWriteStream } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileElements } from '../dsl/compile.ts'
import type { Data } from '../dsl/element.ts'
import { makeContext } from '../operators/core/context.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import { formatRecord, readLog, type LogRecord } from '../harness/log.ts'
import { replay } from '../harness/replay.ts'
import { gc, pairedRatios, timeBest, timeInProcesses, type Report } from './util.ts'
import { START, trip, trips, type Trip } from './fixtures/trips.ts'

/**
 * Harness benchmarks: replay against feeding the same events straight into the compiled pipeline,
 * replay of a 1M-record NDJSON file (parsing included), and VirtualClock against RxJS's
 * VirtualTimeScheduler on the same timers.
 */

const arrivalOf = (i: number) => START + i * 3

/** The baseline: the same records pushed straight into the compiled pipeline, no log, no clock. */
function direct(records: readonly LogRecord<Trip>[]): number {
  let out = 0
  let sink!: Subscriber<Data<unknown>>
  const input = new Observable<Data<unknown>>((s) => {
    sink = s
  })
  // Data only, as replay without onWatermark asks for.
  input.pipe(compileElements(trips, makeContext({ onDeadLetter: () => undefined }), { watermarks: false })).subscribe((e) => {
    if (e._tag === 'Data') out++
  })
  for (let i = 0; i < records.length; i++) {
    const r = records[i]
    sink.next({ _tag: 'Data', value: r.event, time: r.arrival, key: undefined, pos: r.offset })
  }
  sink.complete()
  return out
}

/** Deterministic pseudo-random delays, the same for both schedulers. */
function delays(n: number): Float64Array {
  const d = new Float64Array(n)
  let seed = 12345
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    d[i] = seed % 100_000
  }
  return d
}

function scheduleAndFlushClock(ds: Float64Array): number {
  const clock = new VirtualClock(0)
  let fired = 0
  const work = () => {
    fired++
  }
  for (let i = 0; i < ds.length; i++) clock.schedule(work, ds[i])
  clock.flush()
  return fired
}

function scheduleAndFlushVts(ds: Float64Array): number {
  const vts = new VirtualTimeScheduler()
  let fired = 0
  const work = () => {
    fired++
  }
  for (let i = 0; i < ds.length; i++) vts.schedule(work, ds[i])
  vts.flush()
  return fired
}

/**
 * The baselines of the file replay: a hand loop reading the file in the same chunks, cutting each
 * chunk's complete lines out of its decoded text and giving every line to `JSON.parse` (`batched`:
 * a chunk's lines as one JSON array, `JSON.parse('[' + lines joined by ',' + ']')`, the batching a
 * replay could use with a per-line fallback for a chunk that fails). Returns the records read.
 */
async function parseFile(path: string, batched: boolean): Promise<number> {
  const decoder = new StringDecoder('utf8')
  let carry = ''
  let n = 0
  const parse = (text: string) => {
    if (batched) {
      n += (JSON.parse(`[${text.replaceAll('\n', ',')}]`) as unknown[]).length
      return
    }
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      JSON.parse(nl === -1 ? text.slice(start) : text.slice(start, nl))
      n++
      if (nl === -1) return
      start = nl + 1
    }
  }
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    const text = carry + decoder.write(chunk as Buffer)
    const last = text.lastIndexOf('\n')
    if (last === -1) {
      carry = text
      continue
    }
    if (last > 0) parse(text.slice(0, last))
    carry = text.slice(last + 1)
  }
  carry += decoder.end()
  if (carry.length > 0) parse(carry)
  return n
}

async function writeTripLog(path: string, n: number): Promise<void> {
  const out = createWriteStream(path)
  let buf = ''
  for (let i = 1; i <= n; i++) {
    buf += formatRecord({ offset: i, arrival: arrivalOf(i), topic: 'trips', event: trip(i) }) + '\n'
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()))
      buf = ''
    }
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject)
    out.end(buf, () => resolve())
  })
}

/** Where the parent process wrote the log file its contenders read. */
const FILE_DIR = 'WEIR_BENCH_HARNESS_DIR'
const FILE_ROUNDS = 5
const tripLog = (): string => join(process.env[FILE_DIR]!, 'trips.ndjson')

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The file replay's contenders, each reading the whole log (their `n` is its length). */
export const contenders: Record<string, (n: number) => unknown> = {
  async readLog(n) {
    let read = 0
    for await (const batch of readLog(tripLog())) read += batch.length
    if (read !== n) throw new Error(`bench: read ${read} records`)
  },
  async replay(n) {
    const res = await replay(trips, tripLog(), { keepOutput: false })
    if (res.metrics.eventsIn !== n) throw new Error(`bench: replayed ${res.metrics.eventsIn} records`)
  },
  perLine: (n) => handParse(n, false),
  batched: (n) => handParse(n, true),
}

async function handParse(n: number, batched: boolean): Promise<void> {
  const parsed = await parseFile(tripLog(), batched)
  if (parsed !== n) throw new Error(`bench: parsed ${parsed} records`)
}

export default async function (r: Report): Promise<void> {
  // Replay vs direct feed, in memory.
  const N = 500_000
  r.section(`harness: replay vs feeding the same ${N.toLocaleString('en-US')} events directly (filter/keyBy/map, watermarks)`)
  const records: LogRecord<Trip>[] = Array.from({ length: N }, (_, k) => ({ offset: k + 1, arrival: arrivalOf(k + 1), topic: 'trips', event: trip(k + 1) }))
  const lines = records.map((rec) => formatRecord(rec))
  const expected = direct(records)
  const check = (got: number) => {
    if (got !== expected) throw new Error(`bench: replay gave ${got} outputs, direct ${expected}`)
  }
  gc()
  const tDirect = await timeBest(() => direct(records))
  gc()
  const tReplayRecords = await timeBest(async () => check((await replay(trips, records, { keepOutput: false, batchSize: 4096 })).metrics.eventsOut))
  gc()
  const tReplayLines = await timeBest(async () => check((await replay(trips, lines, { keepOutput: false, batchSize: 4096 })).metrics.eventsOut))
  r.figure('direct feed into compileElements', (N / tDirect) * 1000, 'events/s')
  r.figure('replay of parsed records (virtual clock, credit)', (N / tReplayRecords) * 1000, 'events/s')
  r.figure('replay of NDJSON lines in memory (parse included)', (N / tReplayLines) * 1000, 'events/s')
  r.ratio('replay(records) / direct', tReplayRecords, tDirect, '<= 1.5x')
  r.ratio('replay(lines) / direct (JSON.parse included)', tReplayLines, tDirect)
  records.length = 0
  lines.length = 0

  // Replay of a 1M-record file: each contender alone in a fresh process, in turns, in CPU time.
  const M = 1_000_000
  r.section(`harness: replay of a ${M.toLocaleString('en-US')}-record NDJSON log file, parsing included (CPU time, fresh processes, median of ${FILE_ROUNDS} rounds)`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'))
  process.env[FILE_DIR] = dir
  try {
    await writeTripLog(tripLog(), M)
    const t = timeInProcesses('harness.bench.ts', ['readLog', 'replay', 'perLine', 'batched'] as const, M, FILE_ROUNDS, 'cpu')
    const rate = (times: readonly number[]) => (M / median(times)) * 1000
    r.figure('read + split + parse only (readLog)', rate(t.readLog), 'records/CPU s')
    r.figure('replay of the file through the pipeline', rate(t.replay), 'records/CPU s (goal >= 1,000,000)')
    r.figure('baseline: hand loop, read + split + JSON.parse per line', rate(t.perLine), 'records/CPU s')
    r.figure('hand loop, a chunk of lines as one JSON.parse of an array', rate(t.batched), 'records/CPU s')
    r.ratios('replay(file) / readLog alone', pairedRatios(t.replay, t.readLog))
    r.ratios('replay speed / per-line JSON.parse loop speed', pairedRatios(t.perLine, t.replay), '>= 1.3x')
    r.ratios('batched JSON.parse speed / per-line JSON.parse speed', pairedRatios(t.perLine, t.batched))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  // VirtualClock vs VirtualTimeScheduler.
  r.section('harness: schedule N timers, then flush (VirtualClock: binary heap; RxJS VirtualTimeScheduler: sort per schedule)')
  for (const n of [1e4, 1e5, 1e6]) {
    const ds = delays(n)
    gc()
    const t = await timeBest(() => scheduleAndFlushClock(ds))
    r.figure(`VirtualClock, ${n.toExponential(0)} timers`, t, 'ms')
  }
  for (const n of [8e3, 1.6e4]) {
    const ds = delays(n)
    gc()
    const tClock = await timeBest(() => scheduleAndFlushClock(ds))
    gc()
    // One timed run of the quadratic scheduler, no warm-up: it is seconds long, so JIT warm-up is
    // noise, and repeating it would take most of the bench's time budget.
    const t0 = performance.now()
    const fired = scheduleAndFlushVts(ds)
    const tVts = performance.now() - t0
    if (fired !== n || scheduleAndFlushClock(ds) !== n) throw new Error('bench: timers lost')
    r.figure(`VirtualClock, ${n.toExponential(1)} timers`, tClock, 'ms')
    r.figure(`RxJS VirtualTimeScheduler, ${n.toExponential(1)} timers`, tVts, 'ms')
    r.ratio(`VirtualTimeScheduler / VirtualClock at ${n.toExponential(1)}`, tVts, tClock)
  }
}
