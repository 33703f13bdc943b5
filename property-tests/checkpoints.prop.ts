import { describe, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../harness/run.ts'
import type { Checkpoint, CheckpointStore } from '../harness/checkpoint.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { filter, keyBy } from '../dsl/stages.ts'
import { aggregate, session, tumbling, window } from '../dsl/windows.ts'
import { count, sum } from '../dsl/aggregations.ts'
import { windowJoin } from '../dsl/joins.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import { microbatch } from '../dsl/flow.ts'

/** One event of a random log: a key, an event time with bounded disorder, a kind and an amount. */
interface Ev {
  readonly k: string
  readonly t: number
  readonly kind: 'a' | 'b'
  readonly n: number
}

const DISORDER = 30
const opts = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(DISORDER) }

const pipelines: Record<string, AnyPipeline> = {
  'tumbling windows in updates mode': pipeline({ name: 'tumbling', ...opts }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(40), { emit: 'updates', allowedLateness: 20 }), aggregate({ n: count, total: sum((e: Ev) => e.n) })),
  ),
  'session windows in updates mode': pipeline({ name: 'session', ...opts }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(session(25), { emit: 'updates' }), aggregate(count)),
  ),
  'a window join': pipeline({ name: 'join', ...opts }, (s: Stream<Ev>) => {
    const as = pipe(s, filter((e) => e.kind === 'a'), keyBy((e) => e.k))
    const bs = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
    return pipe(as, windowJoin(bs, { within: 15, type: 'outer' }))
  }),
  'microbatches (a block open at the checkpoint)': pipeline({ name: 'microbatch', ...opts }, (s: Stream<Ev>) =>
    pipe(s, filter((e) => e.kind === 'a'), microbatch(4, '1h')),
  ),
  'a pattern': pipeline({ name: 'pattern', ...opts }, (s: Stream<Ev>) =>
    pipe(
      s,
      keyBy((e) => e.k),
      match(
        pattern<Ev>()
          .begin('a', (e) => e.kind === 'a')
          .followedBy('b', (e) => e.kind === 'b')
          .within(60),
      ),
    ),
  ),
}

/** Logs whose event times advance with disorder within the watermark bound, so nothing is late. */
const logs = fc
  .array(
    fc.record({
      k: fc.constantFrom('x', 'y', 'z'),
      step: fc.integer({ min: 0, max: 12 }),
      jitter: fc.integer({ min: 0, max: DISORDER }),
      kind: fc.constantFrom<'a' | 'b'>('a', 'b'),
      n: fc.integer({ min: 1, max: 9 }),
    }),
    { minLength: 1, maxLength: 80 },
  )
  .map((rows) => {
    let base = 1000
    return rows.map(({ k, step, jitter, kind, n }): Ev => {
      base += step
      return { k, t: base - jitter, kind, n }
    })
  })

const memory = (): CheckpointStore & { last(): Checkpoint | undefined } => {
  let saved: string | undefined
  return {
    last: () => (saved === undefined ? undefined : (JSON.parse(saved) as Checkpoint)),
    load: async () => (saved === undefined ? undefined : (JSON.parse(saved) as Checkpoint)),
    // Through JSON, as a file or Redis would store it.
    save: async (c) => void (saved = JSON.stringify(c)),
  }
}

describe('crash recovery: restore from the last checkpoint, then finish = the uninterrupted run', () => {
  for (const [name, p] of Object.entries(pipelines)) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(
          logs.chain((log) => fc.tuple(fc.constant(log), fc.integer({ min: 0, max: log.length }), fc.integer({ min: 1, max: 12 }))),
          async ([log, crashAt, every]) => {
            const full = await run(p, log)
            const store = memory()
            // The first worker dies after `crashAt` records: what it emitted after its last
            // checkpoint is discarded (an idempotent sink would be overwritten with the same values).
            const crashed = await run(p, log.slice(0, crashAt), { checkpoint: { store, everyEvents: every } })
            const cp = store.last()
            const resumed = await run(p, log, { checkpoint: { store, everyEvents: every } })
            const combined = [...crashed.out.slice(0, cp?.outputs ?? 0), ...resumed.out]
            return JSON.stringify(combined) === JSON.stringify(full.out)
          },
        ),
        { seed: 6006, numRuns: 60 },
      )
    }, 30_000)
  }
})
