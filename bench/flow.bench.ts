import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { pipeline } from '../dsl/pipeline.ts'
import { map } from '../dsl/stages.ts'
import { microbatch } from '../dsl/flow.ts'
import { run } from '../harness/run.ts'
import { fromLog } from '../connectors/sources.ts'
import { asyncSink } from '../connectors/sinks.ts'
import { gc, peakMemory, type Report } from './util.ts'

const Ev = t.type({ id: t.number, user: t.string, amount: t.number })

async function writeLog(path: string, n: number): Promise<void> {
  const out = createWriteStream(path)
  for (let i = 1; i <= n; i++) {
    const line = `{"offset":${i},"arrival":${1_700_000_000_000 + i},"event":{"id":${i},"user":"u${i % 997}","amount":${i % 100}}}\n`
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

const slowSinkRun = async (path: string) => {
  const p = pipeline({ codec: Ev }, (s) => pipe(s, map((e) => e.amount), microbatch(1000, '50ms')))
  let written = 0
  const sink = asyncSink(async (block: number[]) => {
    await new Promise((r) => setTimeout(r, 1))
    written += block.length
  })
  const r = await run(p, fromLog(path), { sink })
  if (written !== r.metrics.eventsIn) throw new Error(`flow bench: wrote ${written} of ${r.metrics.eventsIn}`)
  return r
}

/** A fast file source into a slow async sink: memory must stay flat as the log grows. */
export default async function (r: Report): Promise<void> {
  r.section('backpressure: file source -> microbatch(1000) -> async sink taking 1 ms per block')
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-flow-'))
  try {
    for (const n of [1_000_000, 5_000_000]) {
      const path = join(dir, `log-${n}.ndjson`)
      await writeLog(path, n)
      gc()
      const base = process.memoryUsage().rss / 2 ** 20
      const { result, rssMiB, heapMiB } = await peakMemory(() => slowSinkRun(path))
      r.figure(`${n / 1e6}M events: throughput`, result.metrics.eventsPerSecond, 'events/s')
      r.figure(`${n / 1e6}M events: peak RSS (before the run: ${base.toFixed(0)} MiB)`, rssMiB, 'MiB')
      r.figure(`${n / 1e6}M events: peak heap used`, heapMiB, 'MiB')
      rmSync(path)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
