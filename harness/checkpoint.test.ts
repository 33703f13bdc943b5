import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipe } from 'fp-ts/lib/function.js'
import { run } from './run.ts'
import { fileCheckpoints, type Checkpoint, type CheckpointStore } from './checkpoint.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy, map } from '../dsl/stages.ts'
import { aggregate, tumbling, window } from '../dsl/windows.ts'
import { count } from '../dsl/aggregations.ts'
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
  return { saved, load: async () => saved.at(-1), save: async (c) => void saved.push(JSON.parse(JSON.stringify(c))) }
}

describe('checkpoints', () => {
  it('a file store replaces the checkpoint atomically (temp file + rename) and loads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-cp-'))
    const store = fileCheckpoints(join(dir, 'sub', 'cp.json'))
    expect(await store.load()).toBeUndefined()
    const c: Checkpoint = { version: 1, pipeline: 'p', offset: 3, outputs: 1, operators: [{ a: 1 }], acked: [] }
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

describe('fileCheckpoints: the temporary file', () => {
  it('is created afresh under a random name: a symlink planted at the old predictable name is not written through', async () => {
    const { readFileSync, symlinkSync, writeFileSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'weir-cp-'))
    const path = join(dir, 'cp.json')
    const victim = join(dir, 'victim.txt')
    writeFileSync(victim, 'untouched')
    symlinkSync(victim, `${path}.${process.pid}.tmp`)
    const c: Checkpoint = { version: 1, pipeline: 'p', offset: 3, outputs: 1, operators: [], acked: [] }
    await fileCheckpoints(path).save(c)
    expect(readFileSync(victim, 'utf8')).toBe('untouched')
    expect(await fileCheckpoints(path).load()).toMatchObject({ pipeline: 'p', offset: 3 })
    // Nothing is left behind but the checkpoint, the planted link and its target.
    expect(readdirSync(dir).sort()).toEqual(['cp.json', `cp.json.${process.pid}.tmp`, 'victim.txt'].sort())
  })
})
