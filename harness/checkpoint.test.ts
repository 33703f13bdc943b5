import { describe, expect, it } from 'vitest'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from './run.ts'
import { CheckpointMismatchError, fileCheckpoints, type Checkpoint, type CheckpointStore, type CheckpointV1 } from './checkpoint.ts'
import { fromLog } from '../connectors/sources.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { aggregate, session, tumbling, window } from '../dsl/windows.ts'
import { count, mean, sum } from '../dsl/aggregations.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'

interface Ev {
  readonly k: string
  readonly t: number
}
const evs: Ev[] = Array.from({ length: 60 }, (_, i) => ({ k: `k${i % 3}`, t: i * 10 + ((i * 37) % 7) * 3 }))
const counts = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(25) }, (s: Stream<Ev>) =>
  pipe(s, keyBy((e) => e.k), window(tumbling(50), { emit: 'updates' }), aggregate(count)),
)
const memory = (): CheckpointStore & { saved: Checkpoint[] } => {
  const saved: Checkpoint[] = []
  // Through JSON, as a file or Redis would store it.
  return { saved, load: async () => saved.at(-1), save: async (c) => void saved.push(JSON.parse(JSON.stringify(c))) }
}

describe('checkpoints', () => {
  it('a file store replaces the checkpoint atomically (temp file + rename) and loads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-cp-'))
    const store = fileCheckpoints(join(dir, 'sub', 'cp.json'))
    expect(await store.load()).toBeUndefined()
    const c: Checkpoint = { version: 2, pipeline: 'p', plan: [], offset: 3, outputs: 1, operators: [{ a: 1 }], acked: [] }
    await store.save(c)
    await store.save({ ...c, offset: 4 })
    expect(await store.load()).toEqual({ ...c, offset: 4 })
    expect(readdirSync(join(dir, 'sub'))).toEqual(['cp.json'])
  })

  it('takes one every N source records, with the source offset and the outputs emitted so far', async () => {
    const store = memory()
    const full = await run(counts, evs, { checkpoint: { store, everyEvents: 20 } })
    expect(store.saved.map((c) => c.offset)).toEqual([20, 40])
    expect(store.saved[0].operators.length).toBeGreaterThan(1) // the watermark generator and the window
    // Outputs counted at the cut are exactly those the uninterrupted run had produced by then.
    const prefix = await run(counts, evs.slice(0, 20))
    expect(full.out.slice(0, store.saved[0].outputs)).toEqual(prefix.out.slice(0, store.saved[0].outputs))
  })

  it('a run restarted from the checkpoint after a crash ends with the same output as an uninterrupted run', async () => {
    const full = await run(counts, evs)
    const store = memory()
    // The crash: the first worker only ever sees 47 records (whatever it emitted after its last
    // checkpoint is discarded, as a sink would be rolled back or overwritten).
    const crashed = await run(counts, evs.slice(0, 47), { checkpoint: { store, everyEvents: 15 } })
    const cp = store.saved.at(-1)!
    expect(cp.offset).toBe(45)
    const resumed = await run(counts, evs, { checkpoint: { store, everyEvents: 15 } })
    expect([...crashed.out.slice(0, cp.outputs), ...resumed.out]).toEqual(full.out)
    expect(resumed.metrics.eventsIn).toBe(evs.length - 45)
  })

  it('resumes from a checkpoint file in a new process-like run', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'weir-cp-')), 'cp.json')
    const full = await run(counts, evs)
    const crashed = await run(counts, evs.slice(0, 33), { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
    const cp = (await fileCheckpoints(path).load())!
    const resumed = await run(counts, evs, { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
    expect([...crashed.out.slice(0, cp.outputs), ...resumed.out]).toEqual(full.out)
    expect(existsSync(path)).toBe(true)
  })

  it('refuses a checkpoint of another pipeline', async () => {
    const store = memory()
    await run(counts, evs.slice(0, 30), { checkpoint: { store, everyEvents: 10 } })
    const other = pipeline({ name: 'other' }, (s: Stream<Ev>) => pipe(s, map((e) => e.t)))
    await expect(run(other, evs, { checkpoint: { store } })).rejects.toThrow(/checkpoint is for pipeline 'counts'/)
  })
})

describe('checkpoint fidelity: restored state is the state that was saved', () => {
  interface Reading {
    readonly k: string
    readonly t: number
    readonly a: number
    readonly b: number
  }
  const stats = pipeline({ name: 'stats', eventTime: (e: Reading) => e.t }, (s: Stream<Reading>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(100)), aggregate({ s: sum((e: Reading) => e.a), m: mean((e: Reading) => e.b) })),
  )
  const readings: Reading[] = [
    { k: 'x', t: 0, a: Infinity, b: NaN },
    { k: 'x', t: 10, a: 1, b: 1 },
    { k: 'x', t: 20, a: 2, b: 2 },
    { k: 'x', t: 150, a: 3, b: 3 },
  ]

  it('an Infinity sum and a NaN mean come back as Infinity and NaN (JSON made them null: s=1, m=0.333 after the restore)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'weir-cp-')), 'cp.json')
    const full = await run(stats, readings)
    expect(full.out[0].value).toEqual({ s: Infinity, m: NaN })
    // The crash comes after the first two records; the checkpoint holds s = Infinity and mean's [NaN, 2].
    await run(stats, readings.slice(0, 3), { checkpoint: { store: fileCheckpoints(path), everyEvents: 2 } })
    const resumed = await run(stats, readings, { checkpoint: { store: fileCheckpoints(path), everyEvents: 2 } })
    expect(resumed.out).toEqual(full.out)
  })

  it("a 'final' session that fired keeps, across a checkpoint, which result its next one replaces", async () => {
    const sessions = pipeline({ name: 'sessions', eventTime: (e: Ev) => e.t }, (s: Stream<Ev>) =>
      pipe(s, keyBy((e) => e.k), window(session(10), { allowedLateness: 100 }), aggregate(count)),
    )
    // [0,10) and [12,22) fire by W = 25; 20 merges [12,22) and [25,35) into [12,35), then 9 merges
    // [0,10) into it too: [0,35), not due yet, will replace both fired results. The cut comes then.
    const log: Ev[] = [0, 12, 25, 20, 9, 50].map((t) => ({ k: 'a', t }))
    const full = await run(sessions, log)
    expect(full.out[2]).toMatchObject({ window: { start: 0, end: 35 }, replaces: [{ start: 0, end: 10 }, { start: 12, end: 22 }] })
    const store = memory()
    const crashed = await run(sessions, log, { checkpoint: { store, everyEvents: 5 } })
    const cp = store.saved.at(-1)!
    expect([cp.offset, cp.outputs]).toEqual([5, 2])
    const resumed = await run(sessions, log, { checkpoint: { store, everyEvents: 5 } })
    expect([...crashed.out.slice(0, cp.outputs), ...resumed.out]).toEqual(full.out)
  })

  it('a checkpoint of the version before the tagged encoding (plain JSON) is still restored', async () => {
    const full = await run(counts, evs)
    const store = memory()
    const crashed = await run(counts, evs.slice(0, 47), { checkpoint: { store, everyEvents: 15 } })
    const v2 = store.saved.at(-1) as Checkpoint
    const v1: CheckpointV1 = { version: 1, pipeline: v2.pipeline, offset: v2.offset, outputs: v2.outputs, operators: v2.operators, acked: v2.acked }
    const resumed = await run(counts, evs, { checkpoint: { store: { load: async () => v1, save: async () => undefined } } })
    expect([...crashed.out.slice(0, v1.outputs), ...resumed.out]).toEqual(full.out)
  })
})

describe('checkpoint compatibility: a checkpoint restores only into the plan and input it was taken for', () => {
  const countsWithSum = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(25) }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(50), { emit: 'updates' }), aggregate({ n: count, s: sum((e: Ev) => e.t) })),
  )
  const countsOnly = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(25) }, (s: Stream<Ev>) =>
    pipe(s, keyBy((e) => e.k), window(tumbling(50), { emit: 'updates' }), aggregate({ n: count })),
  )

  it('adding s: sum to { n: count } is refused, naming the stage and both shapes (it resumed with s: NaN)', async () => {
    const store = memory()
    await run(countsOnly, evs.slice(0, 30), { checkpoint: { store, everyEvents: 10 } })
    const refused = run(countsWithSum, evs, { checkpoint: { store } })
    await expect(refused).rejects.toThrow(CheckpointMismatchError)
    await expect(refused).rejects.toThrow(
      'run: checkpoint was taken for a different plan: stage 3 window tumbling 50ms (updates) → aggregate { n: count } is now window tumbling 50ms (updates) → aggregate { n: count, s: sum }',
    )
  })

  it('a window of another size or a stateful stage removed is refused too; a stateless stage added is not', async () => {
    const store = memory()
    await run(countsOnly, evs.slice(0, 30), { checkpoint: { store, everyEvents: 10 } })
    const wider = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t }, (s: Stream<Ev>) =>
      pipe(s, keyBy((e) => e.k), window(tumbling(60), { emit: 'updates' }), aggregate({ n: count })),
    )
    await expect(run(wider, evs, { checkpoint: { store } })).rejects.toThrow(/stage 3 window tumbling 50ms .* is now window tumbling 60ms/)
    const stateless = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t }, (s: Stream<Ev>) => pipe(s, map((e) => e.t)))
    await expect(run(stateless, evs, { checkpoint: { store } })).rejects.toThrow(
      /its stateful stage window tumbling 50ms \(updates\) → aggregate \{ n: count \} is not in this plan/,
    )
    const filtered = pipeline({ name: 'counts', eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(25) }, (s: Stream<Ev>) =>
      pipe(s, map((e) => e), keyBy((e) => e.k), window(tumbling(50), { emit: 'updates' }), aggregate({ n: count })),
    )
    const full = await run(countsOnly, evs)
    const resumed = await run(filtered, evs, { checkpoint: { store } })
    expect([...full.out.slice(0, store.saved.at(-1)!.outputs), ...resumed.out]).toEqual(full.out)
  })

  describe('logs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-cp-logs-'))
    const lines = (xs: readonly Ev[]) => xs.map((event, i) => JSON.stringify({ offset: i, arrival: i, event }) + '\n').join('')
    const other = evs.map((e) => ({ ...e, k: `other-${e.k}` }))

    it('a checkpoint of log A used on log B is refused, naming both (it skipped B\'s first records and emitted A\'s windows)', async () => {
      const a = join(dir, 'a.ndjson')
      const b = join(dir, 'b.ndjson')
      writeFileSync(a, lines(evs))
      writeFileSync(b, lines(other))
      const path = join(dir, 'cp-ab.json')
      await run(counts, fromLog(a), { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
      const refused = run(counts, fromLog(b), { checkpoint: { store: fileCheckpoints(path) } })
      await expect(refused).rejects.toThrow(CheckpointMismatchError)
      await expect(refused).rejects.toThrow(`run: checkpoint belongs to log ${a}, not log ${b}`)
    })

    it('the same log, grown since (appended to) or moved, still resumes', async () => {
      const log = join(dir, 'growing.ndjson')
      const all = lines(evs)
      const cut = all.split('\n').slice(0, 33).join('\n') + '\n'
      writeFileSync(log, cut)
      const path = join(dir, 'cp-grow.json')
      const full = await run(counts, evs)
      const crashed = await run(counts, fromLog(log), { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
      const cp = (await fileCheckpoints(path).load())!
      appendFileSync(log, all.slice(cut.length))
      const moved = join(dir, 'moved.ndjson')
      renameSync(log, moved)
      const resumed = await run(counts, fromLog(moved), { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
      expect([...crashed.out.slice(0, cp.outputs), ...resumed.out]).toEqual(full.out)
    })

    it('a log rewritten in place (its first bytes changed) is refused', async () => {
      const log = join(dir, 'rewritten.ndjson')
      writeFileSync(log, lines(evs))
      const path = join(dir, 'cp-rewrite.json')
      await run(counts, fromLog(log), { checkpoint: { store: fileCheckpoints(path), everyEvents: 10 } })
      writeFileSync(log, lines(other))
      await expect(run(counts, fromLog(log), { checkpoint: { store: fileCheckpoints(path) } })).rejects.toThrow(
        /checkpoint belongs to log .*rewritten\.ndjson as it was: its first \d+ bytes have changed since/,
      )
    })
  })
})

describe('fileCheckpoints: the temporary file', () => {
  it('is created afresh under a random name: a symlink planted at the old predictable name is not written through', async () => {
    const { readFileSync, symlinkSync, writeFileSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'weir-cp-'))
    const path = join(dir, 'cp.json')
    const victim = join(dir, 'victim.txt')
    writeFileSync(victim, 'untouched')
    symlinkSync(victim, `${path}.${process.pid}.tmp`)
    const c: Checkpoint = { version: 2, pipeline: 'p', plan: [], offset: 3, outputs: 1, operators: [], acked: [] }
    await fileCheckpoints(path).save(c)
    expect(readFileSync(victim, 'utf8')).toBe('untouched')
    expect(await fileCheckpoints(path).load()).toMatchObject({ pipeline: 'p', offset: 3 })
    // Nothing is left behind but the checkpoint, the planted link and its target.
    expect(readdirSync(dir).sort()).toEqual(['cp.json', `cp.json.${process.pid}.tmp`, 'victim.txt'].sort())
  })
})
