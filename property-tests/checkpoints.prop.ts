import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Observable, type Subscriber } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../harness/run.ts'
import { fileCheckpoints, type Checkpoint, type CheckpointStore } from '../harness/checkpoint.ts'
import { cutOf, restoreCut } from '../harness/cut.ts'
import { Collector } from '../harness/result.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import { compileElements } from '../dsl/compile.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import type { SourceRecord } from '../dsl/element.ts'
import { upsert } from '../dsl/change.ts'
import { table } from '../dsl/tables.ts'
import { collectMachines, type Stateful } from '../operators/core/operate.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import { stateValue } from './arbitraries.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { aggregate, session, tumbling, window } from '../dsl/windows.ts'
import { aggregator, count, mean, sum } from '../dsl/aggregations.ts'
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

/** An event whose value is anything state can hold (see `stateValue`). */
interface Anything {
  readonly k: string
  readonly t: number
  readonly v: unknown
  readonly x: number
}

/** Keeps every value it sees: its accumulator holds whatever the events carried. */
const keepAll = aggregator({
  init: (): unknown[] => [],
  add: (acc: unknown[], e: Anything) => [...acc, e.v],
  merge: (a: unknown[], b: unknown[]) => [...a, ...b],
  result: (acc: unknown[]) => acc.length,
})

/** Pipelines whose state holds the events' values: windows (accumulators and emitted results), a table, a pattern's buffer and runs, a join. */
const holders: Record<string, AnyPipeline> = {
  'tumbling windows (updates, allowed lateness)': pipeline({ name: 'w', eventTime: (e: Anything) => e.t, watermark: boundedOutOfOrder(40) }, (s: Stream<Anything>) =>
    pipe(
      s,
      keyBy((e) => e.k),
      window(tumbling(30), { emit: 'updates', allowedLateness: 50 }),
      aggregate({ all: keepAll, s: sum((e: Anything) => e.x), m: mean((e: Anything) => e.x) }),
    ),
  ),
  'session windows': pipeline({ name: 's', eventTime: (e: Anything) => e.t, watermark: boundedOutOfOrder(40) }, (s: Stream<Anything>) =>
    pipe(s, keyBy((e) => e.k), window(session(15)), aggregate({ all: keepAll, s: sum((e: Anything) => e.x) })),
  ),
  'a table': pipeline({ name: 't' }, (s: Stream<Anything>) => pipe(s, map((e) => upsert(e.k, e.v)), table())),
  'a pattern': pipeline({ name: 'p', eventTime: (e: Anything) => e.t, watermark: boundedOutOfOrder(40) }, (s: Stream<Anything>) =>
    pipe(
      s,
      keyBy((e) => e.k),
      match(
        pattern<Anything>()
          .begin('a', (e) => e.x > 0)
          .followedBy('b', (e) => e.x <= 0)
          .within(60),
      ),
    ),
  ),
  'a window join': pipeline({ name: 'j', eventTime: (e: Anything) => e.t, watermark: boundedOutOfOrder(40) }, (s: Stream<Anything>) => {
    const small = pipe(s, filter((e) => !(e.x > 0)), keyBy((e) => e.k))
    return pipe(s, filter((e) => e.x > 0), keyBy((e) => e.k), windowJoin(small, { within: 20, type: 'outer' }))
  }),
}

const anythingLog = fc.array(
  fc.record({ k: fc.constantFrom('x', 'y'), t: fc.integer({ min: 0, max: 200 }), v: stateValue(), x: fc.double() }),
  { maxLength: 25 },
)

/** Builds the pipeline's machines and feeds them these events (no end of input: state stays open). */
function machinesAfter(p: AnyPipeline, events: readonly Anything[]): Stateful[] {
  const c = new Collector<unknown>()
  const ctx = c.context({ scheduler: new VirtualClock(0) })
  let input!: Subscriber<SourceRecord>
  const { machines } = collectMachines(() =>
    new Observable<SourceRecord>((s) => {
      input = s
    })
      .pipe(compileElements(p, ctx))
      .subscribe(c),
  )
  const slot = reusableRecord()
  for (let i = 0; i < events.length; i++) input.next(slot.fill(events[i], Number.NaN, i))
  return machines
}

describe('checkpoint fidelity: snapshot → save → load → restore → snapshot is the identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cp-prop-'))
  for (const [name, p] of Object.entries(holders)) {
    it(name, async () => {
      const store = fileCheckpoints(join(dir, `${p.name}.json`))
      const shapes = stateShapes(p)
      await fc.assert(
        fc.asyncProperty(anythingLog, async (events) => {
          const first = machinesAfter(p, events)
          const before = first.map((m) => m.snapshot!())
          await store.save(cutOf(first, { pipeline: p.name, plan: shapes, input: undefined, offset: events.length, outputs: 0, acked: [] }))
          const loaded = (await store.load())!
          const second = machinesAfter(p, [])
          restoreCut(loaded, { name: p.name, shapes, source: [] }, second)
          expect(second.map((m) => m.snapshot!())).toStrictEqual(before)
        }),
        { seed: 1205, numRuns: 60 },
      )
    }, 30_000)
  }
})
