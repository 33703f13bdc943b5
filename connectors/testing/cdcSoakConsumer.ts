/**
 * The consumer of the CDC soak test (connectors/postgres/cdcOperations.test.ts), run as a child
 * process so the test can SIGKILL it: reads a slot with `pgChanges` and appends each change to a
 * file (`[op, key, after, commitLsn, pid]` per line: the last two say, when the test fails, which
 * transaction and which consumer wrote it), acknowledged once written; ends cleanly on SIGTERM.
 *
 *   node --import tsx connectors/testing/cdcSoakConsumer.ts <url> <slot> <publication> <file>
 */
import { appendFileSync } from 'node:fs'
import { run } from '../../harness/run.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import type { Stream } from '../../dsl/stream.ts'
import { asyncSink } from '../sinks.ts'
import { pgChanges, type RowChange } from '../postgres/cdc.ts'

const [url, slot, publication, file] = process.argv.slice(2)
const stop = new AbortController()
process.on('SIGTERM', () => stop.abort())
const identity = pipeline({ name: 'soak' }, (s: Stream<RowChange>) => s)
const sink = asyncSink<RowChange>(async (c) => {
  appendFileSync(file, `${JSON.stringify([c.op, c.key, c.after ?? null, c.commitLsn, process.pid])}\n`)
})
run(identity, pgChanges({ connection: url, slot, publication, signal: stop.signal, reconnect: { attempts: 40, delayMs: 100 } }), { sink }).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  },
)
