import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from '../harness/run.ts'
import { fileCheckpoints, type Checkpoint, type CheckpointStore } from '../harness/checkpoint.ts'
import { cutOf, restoreCut } from '../harness/cut.ts'
import { Collector } from '../harness/result.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import { upsert } from '../dsl/change.ts'
import { table } from '../dsl/tables.ts'
import type { Stateful } from '../operators/core/machine.ts'
import { openPipeline } from '../harness/open.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import { stateValue } from './arbitraries.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { source } from '../dsl/sources.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { aggregate, session, tumbling, window } from '../dsl/windows.ts'
import { aggregator, count, mean, sum } from '../dsl/aggregations.ts'
import { windowJoin } from '../dsl/joins.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'
import { microbatch } from '../dsl/flow.ts'
import { RUN_LENGTH } from '../harness/multiFeeder.ts'

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
    pipe(s, keyBy((e) => e.k), window(session(25), { emit: 'updates', allowedLateness: 15 }), aggregate(count)),
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

/**
 * Logs whose event times advance with disorder mostly within the watermark bound, and about one
 * event in eight up to 60 ms further behind (late, or kept by allowed lateness).
 */
const logs = fc
  .array(
    fc.record({
      k: fc.constantFrom('x', 'y', 'z'),
      step: fc.integer({ min: 0, max: 12 }),
      jitter: fc.oneof({ weight: 7, arbitrary: fc.integer({ min: 0, max: DISORDER }) }, { weight: 1, arbitrary: fc.integer({ min: DISORDER + 1, max: DISORDER + 60 }) }),
      kind: fc.constantFrom<'a' | 'b'>('a', 'b'),
      n: fc.integer({ min: 1, max: 9 }),
    }),
    { minLength: 2, maxLength: 150, size: 'max' },
  )
  .map((rows) => {
    let base = 1000
    return rows.map(({ k, step, jitter, kind, n }): Ev => {
      base += step
      return { k, t: base - jitter, kind, n }
    })
  })

/**
 * A log, how often the first worker checkpoints (`every`, less than the log's length) and how many
 * records it reads before it dies (`crashAt`, past its first checkpoint): its last checkpoint is
 * then always mid-log (one is taken before the record that follows each multiple of `every`).
 */
const crashes = logs.chain((log) =>
  fc.integer({ min: 1, max: log.length - 1 }).chain((every) => fc.tuple(fc.constant(log), fc.constant(every), fc.integer({ min: every + 1, max: log.length }))),
)

const memory = (): CheckpointStore & { last(): Checkpoint | undefined } => {
  let saved: string | undefined
  return {
    last: () => (saved === undefined ? undefined : (JSON.parse(saved) as Checkpoint)),
    load: async () => (saved === undefined ? undefined : (JSON.parse(saved) as Checkpoint)),
    // Through JSON, as a file or Redis would store it.
    save: async (c) => void (saved = JSON.stringify(c)),
  }
}

const RUNS = 60

/** Where the restored checkpoints cut the logs, over every case of every pipeline (printed after the suite). */
const cuts = { cases: 0, quarters: [0, 0, 0, 0], late: 0, events: 0 }
afterAll(() => {
  const [q1, q2, q3, q4] = cuts.quarters
  console.log(
    `checkpoints.prop: ${cuts.cases} restores of logs averaging ${(cuts.events / cuts.cases).toFixed(1)} events; cut in the log's 1st/2nd/3rd/4th quarter: ${q1}/${q2}/${q3}/${q4}; ${cuts.late} late events`,
  )
})

// Measured (seed 6006, 60 cases a pipeline): 300 restores of logs averaging 66.1 events, cut in the
// log's 1st/2nd/3rd/4th quarter 45/75/80/100 times, 735 late events in all (before: logs of 5.3
// events on average, and a checkpoint restored in 8 of 60 cases).
describe('crash recovery: restore from the last checkpoint, then finish = the uninterrupted run', () => {
  for (const [name, p] of Object.entries(pipelines)) {
    it(name, async () => {
      const before = { ...cuts, quarters: [...cuts.quarters] }
      await fc.assert(
        fc.asyncProperty(crashes, async ([log, every, crashAt]) => {
          const full = await run(p, log)
          const store = memory()
          // The first worker dies after `crashAt` records: what it emitted after its last
          // checkpoint is discarded (an idempotent sink would be overwritten with the same values).
          const crashed = await run(p, log.slice(0, crashAt), { checkpoint: { store, everyEvents: every } })
          const cp = store.last()
          // Never a clean rerun: the checkpoint restored is strictly inside the log.
          expect(cp).toBeDefined()
          const cut = cp!.offset
          expect(cut).toBeGreaterThan(0)
          expect(cut).toBeLessThan(log.length)
          const resumed = await run(p, log, { checkpoint: { store, everyEvents: every } })
          expect([...crashed.out.slice(0, cp!.outputs), ...resumed.out]).toEqual(full.out)
          // Late events are side outputs of the records that caused them: those before the cut come from the first worker.
          expect([...crashed.late.filter((l) => l.pos < cut), ...resumed.late].map((l) => l.pos)).toEqual(full.late.map((l) => l.pos))
          cuts.cases++
          cuts.events += log.length
          cuts.quarters[Math.min(3, Math.floor((4 * cut) / log.length))]++
          cuts.late += full.late.length
        }),
        { seed: 6006, numRuns: RUNS },
      )
      // Every pipeline restored mid-log in every case (a shrunk failure would have thrown above).
      expect(cuts.cases - before.cases).toBe(RUNS)
      expect(cuts.quarters.every((q, i) => q > before.quarters[i])).toBe(true)
      if (name !== 'microbatches (a block open at the checkpoint)') expect(cuts.late).toBeGreaterThan(before.late)
    }, 60_000)
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
  const { input, machines: registry } = openPipeline(p, ctx, c)
  const machines = registry.machines
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

/** Two sources of `Ev`: kind 'a' events from one input, kind 'b' from another, each with its own watermark. */
const twoSources = pipeline(
  { name: 'two sources', sources: { as: source({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(DISORDER) }), bs: source({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(DISORDER) }) } },
  ({ as, bs }) => pipe(as, keyBy((e) => e.k), windowJoin(pipe(bs, keyBy((e) => e.k)), { within: 15, type: 'outer' })),
)

/**
 * How far a multi-source run has read each input after `n` records (see `MultiFeeder`: the input with
 * the fewest runs of `RUN_LENGTH` records read goes next, then declaration order; one record at a
 * time, an input so chosen keeps going until its run is read).
 */
const readAfter = (n: number, lengths: readonly number[]): number[] => {
  const read = lengths.map(() => 0)
  const runs = (i: number) => Math.floor(read[i] / RUN_LENGTH)
  for (let k = 0; k < n; k++) {
    let best = -1
    for (let i = 0; i < lengths.length; i++) if (read[i] < lengths[i] && (best < 0 || runs(i) < runs(best))) best = i
    read[best]++
  }
  return read
}

describe('crash recovery with several sources: each input resumes at its own offset', () => {
  it('a window join of two sources', async () => {
    let restored = 0
    await fc.assert(
      fc.asyncProperty(crashes, async ([log, every, crashAt]) => {
        const inputs = { as: log.filter((e) => e.kind === 'a'), bs: log.filter((e) => e.kind === 'b') }
        const full = await run(twoSources, inputs)
        const store = memory()
        const [ca, cb] = readAfter(crashAt, [inputs.as.length, inputs.bs.length])
        const crashed = await run(twoSources, { as: inputs.as.slice(0, ca), bs: inputs.bs.slice(0, cb) }, { checkpoint: { store, everyEvents: every } })
        const cp = store.last()
        expect(cp).toBeDefined()
        expect(cp!.offset).toBe(cp!.offsets!.as + cp!.offsets!.bs)
        const resumed = await run(twoSources, inputs, { checkpoint: { store, everyEvents: every } })
        expect([...crashed.out.slice(0, cp!.outputs), ...resumed.out]).toEqual(full.out)
        if (cp!.offsets!.as > 0 && cp!.offsets!.bs > 0) restored++
      }),
      { seed: 6007, numRuns: RUNS },
    )
    // Most cases restore a cut inside both inputs.
    expect(restored).toBeGreaterThan(RUNS / 2)
  }, 60_000)
})
