import { describe, expect, it } from 'vitest'
import { Observable } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { replay } from './replay.ts'
import { run } from './run.ts'
import { stateOf, type StateAt } from './inspect.ts'
import { restoreCut } from './cut.ts'
import { Collector } from './result.ts'
import { VirtualClock } from './VirtualClock.ts'
import type { Checkpoint, CheckpointStore } from './checkpoint.ts'
import { compileElements } from '../dsl/compile.ts'
import { stateShapes } from '../dsl/fingerprint.ts'
import type { SourceRecord } from '../dsl/element.ts'
import { pipeline, type AnyPipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map, merge } from '../dsl/stages.ts'
import { windowJoin } from '../dsl/joins.ts'
import { aggregate, session, tumbling, window } from '../dsl/windows.ts'
import { count, sum } from '../dsl/aggregations.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { upsert } from '../dsl/change.ts'
import { table } from '../dsl/tables.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'

interface Ev {
  readonly k: string
  readonly t: number
  readonly kind: 'a' | 'b'
  readonly n: number
}
const evs: Ev[] = Array.from({ length: 40 }, (_, i) => ({ k: `k${i % 3}`, t: i * 10 + ((i * 37) % 7) * 4, kind: i % 4 === 1 ? 'b' : 'a', n: i }))
const log = evs.map((event, offset) => ({ offset, arrival: 1_000 + offset, event }))
const opts = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(25) }

const pipelines: Record<string, AnyPipeline> = {
  'a tumbling window': pipeline({ name: 'tumbling', ...opts }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(50), { allowedLateness: 20 }), aggregate({ n: count, total: sum((e: Ev) => e.n) })),
  ),
  'a session window': pipeline({ name: 'session', ...opts }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(session(35), { emit: 'updates' }), aggregate(count)),
  ),
  'a pattern': pipeline({ name: 'pattern', ...opts }, (s: Stream<Ev>) =>
    pipe(
      s,
      keyBy((e) => e.k),
      match(
        pattern<Ev>()
          .begin('a', (e) => e.kind === 'a')
          .followedBy('b', (e) => e.kind === 'b')
          .within(80),
      ),
    ),
  ),
  'a table': pipeline({ name: 'table', ...opts }, (s: Stream<Ev>) => pipe(s, map((e) => upsert(e.k, e.n)), table())),
}

/** Every checkpoint of a run taking one after each record: `saved[k]` covers records 0..k. */
async function checkpointsOf(p: AnyPipeline): Promise<Checkpoint[]> {
  const saved: Checkpoint[] = []
  const store: CheckpointStore = { load: async () => undefined, save: async (c) => void saved.push(JSON.parse(JSON.stringify(c))) }
  await run(p, evs, { checkpoint: { store, everyEvents: 1 } })
  return saved
}

/** The state of a run stopped after record `cp.offset - 1`: its checkpoint restored into a fresh pipeline. */
function restored(p: AnyPipeline, cp: Checkpoint): StateAt {
  const c = new Collector<unknown>()
  const ctx = c.context({ scheduler: new VirtualClock(0) })
  new Observable<SourceRecord>(() => undefined).pipe(compileElements(p, ctx, { watermarks: false })).subscribe(c)
  const { machines, stages } = ctx.machines
  restoreCut(cp, { name: p.name, shapes: stateShapes(p), source: evs }, machines)
  return stateOf(p, machines, stages, cp.offset - 1)
}

describe('replay inspect: the state at an offset', () => {
  for (const [name, p] of Object.entries(pipelines))
    it(`equals the state of a run stopped after that record (${name})`, async () => {
      // The run's last checkpoint is before record 39 (one is taken before each record after the first).
      const offsets = [0, 7, 18, 30, 38]
      const { states } = await replay(p, log, { inspect: offsets })
      const cps = await checkpointsOf(p)
      expect(states!.map((s) => s.offset)).toEqual(offsets)
      for (const s of states!) expect(s).toEqual(restored(p, cps.find((c) => c.offset === s.offset + 1)!))
      // The state moves on between offsets (the comparison is not of two empty states).
      expect(states![2].stages[0].state).not.toEqual(states![3].stages[0].state)
    })

  it('shows open windows with their bounds and partial aggregates, and the watermark', async () => {
    const { states } = await replay(pipelines['a tumbling window'], log, { inspect: [4] })
    // Records 0..4: t = 0, 18, 36, 54, 44 (k0, k1, k2, k0, k1); watermark 54 - 25 = 29.
    expect(states![0].source).toEqual({ watermark: 29, maxEventTime: 54 })
    const [stage] = states![0].stages
    expect(stage.step).toBe(3)
    expect(stage.state).toEqual({
      kind: 'window',
      watermark: 29,
      windows: [
        { key: 'k0', start: 0, end: 50, partial: { n: 1, total: 0 }, fired: false },
        { key: 'k1', start: 0, end: 50, partial: { n: 2, total: 5 }, fired: false },
        { key: 'k2', start: 0, end: 50, partial: { n: 1, total: 2 }, fired: false },
        { key: 'k0', start: 50, end: 100, partial: { n: 1, total: 3 }, fired: false },
      ],
    })
  })

  it('shows pending matches with their steps and deadlines, and table rows', async () => {
    const { states } = await replay(pipelines['a pattern'], log, { inspect: [3] })
    const st = states![0].stages[0].state
    expect(st.kind).toBe('pattern')
    if (st.kind !== 'pattern') return
    // Watermark 29: t = 0 (k0, 'a') has been matched and waits for a 'b' (t = 18 is k1's 'b', with no 'a'
    // before it); t = 36 and 54 wait for the watermark.
    expect(st.pending).toEqual([{ key: 'k0', start: 0, deadline: 80, step: 'a', events: [{ value: evs[0], time: 0, offset: 0, step: 'a' }] }])
    expect(st.buffered.map((e) => e.offset)).toEqual([2, 3])
    const t = await replay(pipelines['a table'], log, { inspect: [4] })
    expect(t.states![0].stages[0].state).toEqual({ kind: 'table', size: 3, rows: [['k0', 3], ['k1', 4], ['k2', 2]] })
  })

  it('maps every machine to its own step, chained into the source or an operator of its own (a join, two windows over one stream)', async () => {
    const joined = pipeline({ name: 'join', ...opts }, (s: Stream<Ev>) => {
      const as = pipe(s, filter((e) => e.kind === 'a'), keyBy((e) => e.k))
      const bs = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
      return pipe(as, windowJoin(bs, { within: 15, type: 'inner' }))
    })
    const j = (await replay(joined, log, { inspect: [5] })).states![0]
    expect(j.stages.map((st) => [st.step, st.state.kind])).toEqual([[4, 'windowJoin']]) // 1 source, 2 and 3 the fused filter → keyBy of each side
    // Records 0..5: k0 a@0, a@54; k1 b@18, a@44; k2 a@36, b@62. Watermark 62 - 25 = 37 has freed what
    // is before 37 - 15 = 22: k0's a@0 and k1's b@18 (unmatched, dropped by an inner join).
    const buffers = j.stages[0].state.kind === 'windowJoin' ? j.stages[0].state.buffers : []
    expect(buffers.map((b) => [b.key, b.left.map((e) => e.offset), b.right.map((e) => e.offset)])).toEqual([
      ['k0', [3], []],
      ['k1', [4], []],
      ['k2', [2], [5]],
    ])
    const two = pipeline({ name: 'two', ...opts }, (s: Stream<Ev>) => {
      const keyed = pipe(s, keyBy((e) => e.k))
      const small = pipe(keyed, window(tumbling(10)), aggregate(count))
      const big = pipe(keyed, window(tumbling(100)), aggregate(count))
      return pipe(small, merge(big))
    })
    const t = (await replay(two, log, { inspect: [5] })).states![0]
    const sizes = t.stages.map((st) => [st.step, st.state.kind === 'window' ? st.state.windows.map((w) => w.end - w.start) : []])
    expect(sizes).toEqual([
      [3, [10, 10, 10, 10]], // [0, 10) and [10, 20) have fired and gone (watermark 37)
      [4, [100, 100, 100]],
    ])
  })

  describe('edge cases', () => {
    it('an offset past the log gives the state after the whole log, before the end of input', async () => {
      const { states, out } = await replay(pipelines['a table'], log, { inspect: [1000] })
      expect(states![0].stages[0].state).toMatchObject({ kind: 'table', size: 3 })
      expect(out.length).toBe(40)
    })

    it('a negative or fractional offset is a RangeError', async () => {
      await expect(replay(pipelines['a table'], log, { inspect: [-1] })).rejects.toThrow(RangeError)
      await expect(replay(pipelines['a table'], log, { inspect: [1.5] })).rejects.toThrow(/log offsets/)
    })

    it('without inspect, the result has no states', async () => {
      expect('states' in (await replay(pipelines['a table'], log))).toBe(false)
    })
  })
})
