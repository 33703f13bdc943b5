import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy } from '../dsl/stages.ts'
import { aggregate, tumbling, window, type WindowResult } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
import { isDeadLetter, readLog } from '../harness/log.ts'
import { run } from '../harness/run.ts'
import { asyncSink } from '../connectors/sinks.ts'
import { gc, peakMemory, timeBest, type Report } from './util.ts'

const MiB = 2 ** 20
const LINE_MiB = 200

/** A log whose second line is one `LINE_MiB` MiB string with no newline before its end. */
function writeLongLineLog(path: string): void {
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, '{"arrival":1,"event":1}\n{"arrival":2,"event":"')
    const block = Buffer.alloc(MiB, 'x')
    for (let i = 0; i < LINE_MiB; i++) writeSync(fd, block)
    writeSync(fd, '"}\n{"arrival":3,"event":3}\n')
  } finally {
    closeSync(fd)
  }
}

/** A log of ordinary lines of about the same size. */
function writeNormalLog(path: string): number {
  const fd = openSync(path, 'w')
  let lines = 0
  try {
    let block = ''
    for (let bytes = 0; bytes < LINE_MiB * MiB; ) {
      const line = `{"offset":${lines + 1},"arrival":${1_700_000_000_000 + lines},"event":{"id":${lines},"user":"u${lines % 997}","amount":${lines % 100}}}\n`
      block += line
      bytes += line.length
      lines++
      if (block.length >= MiB) {
        writeSync(fd, block)
        block = ''
      }
    }
    writeSync(fd, block)
  } finally {
    closeSync(fd)
  }
  return lines
}

const readAll = async (path: string) => {
  let records = 0
  let dead = 0
  for await (const batch of readLog(path)) for (const e of batch) isDeadLetter(e) ? dead++ : records++
  return { records, dead }
}

/** 200k keys, one event each in the same minute: at end of input 200k windows fire at once. */
const KEYS = 200_000
const perKey = pipeline({ name: 'perKey', eventTime: (e: { k: number; t: number }) => e.t }, (s) =>
  pipe(s, keyBy((e) => e.k), window(tumbling('1m')), aggregate(count)),
)
/** An async sink that does no work of its own: what is measured is the engine's queueing. */
const write = (_r: WindowResult<number, number>) => Promise.resolve()

/**
 * Hostile shapes that used to be quadratic: a 200 MB line with no newline (each chunk rescanned the
 * line so far: 80 s and 1.3 GB), and 200k windows firing at once into an async sink (Array.shift
 * per queued result: 16 s). Baselines from the same run: reading a file of ordinary lines of the same
 * size, and the same sink called in a plain loop over the same results.
 */
export default async function (r: Report): Promise<void> {
  r.section(`hardening: a ${LINE_MiB} MB line (default maxLineBytes 16 MiB: a too-long dead letter) against ${LINE_MiB} MB of ordinary lines`)
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-hardening-'))
  try {
    const long = join(dir, 'long.ndjson')
    const normal = join(dir, 'normal.ndjson')
    writeLongLineLog(long)
    const lines = writeNormalLog(normal)
    gc()
    const base = process.memoryUsage().rss / MiB
    const longRun = await peakMemory(async () => {
      const t0 = performance.now()
      const got = await readAll(long)
      if (got.records !== 2 || got.dead !== 1) throw new Error(`bench: long line read as ${JSON.stringify(got)}`)
      return performance.now() - t0
    })
    gc()
    const normalRun = await peakMemory(async () => {
      const t0 = performance.now()
      const got = await readAll(normal)
      if (got.records !== lines) throw new Error(`bench: read ${got.records} of ${lines} lines`)
      return performance.now() - t0
    })
    r.figure(`one ${LINE_MiB} MB line: read time`, longRun.result, 'ms')
    r.figure(`${lines.toLocaleString('en-US')} ordinary lines, same size: read time`, normalRun.result, 'ms')
    r.ratio('long line / ordinary lines (time)', longRun.result, normalRun.result, '<= 1.5x')
    r.figure('one long line: peak RSS above the start', longRun.rssMiB - base, 'MiB')
    r.figure('ordinary lines: peak RSS above the start', normalRun.rssMiB - base, 'MiB')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  r.section(`hardening: ${KEYS.toLocaleString('en-US')} windows firing at once into an async sink`)
  const events = Array.from({ length: KEYS }, (_, k) => ({ k, t: 1_000 }))
  let results: WindowResult<number, number>[] = []
  gc()
  const tRun = await timeBest(async () => {
    let n = 0
    const res = await run(perKey, events, { sink: asyncSink((w: WindowResult<number, number>) => (n++, write(w))) })
    if (n !== KEYS || res.metrics.eventsIn !== KEYS) throw new Error(`bench: ${n} windows written`)
  }, 3)
  gc()
  const tNoSink = await timeBest(async () => {
    results = (await run(perKey, events)).out
  }, 3)
  gc()
  const tLoop = await timeBest(async () => {
    for (const w of results) await write(w)
  }, 3)
  r.figure('run: window results written through the sink', tRun, 'ms')
  r.figure('baseline: the same results, the same sink, a plain loop', tLoop, 'ms')
  r.figure('baseline: the same run with no sink (results kept in memory)', tNoSink, 'ms')
  r.ratio('run / plain loop', tRun, tLoop)
  r.ratio('run with the async sink / run with none (the queueing cost)', tRun, tNoSink, '<= 2x')
}
