import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { pipe } from 'fp-ts/lib/function.js'
import { remove, upsert, type Change } from '../dsl/change.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { tableJoin } from '../dsl/joins.ts'
import { temporalJoin } from '../dsl/temporalJoin.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { runPipeline } from '../operators/testing/runPipeline.ts'

const SEED = 1605
const BOUND = 5

/** One record of the log, in arrival order: an event to enrich, or a change of the table. */
type Rec = { kind: 'event'; id: number; key: number; t: number } | { kind: 'change'; key: number; t: number; value: number | null }

/** Times that drift forward with disorder beyond the watermark bound now and then, so some records are late. */
const logs = fc
  .array(
    fc.record({ change: fc.boolean(), key: fc.integer({ min: 0, max: 3 }), step: fc.integer({ min: 0, max: 3 }), jitter: fc.integer({ min: -8, max: 4 }), value: fc.option(fc.nat(99), { freq: 5 }) }),
    { maxLength: 60 },
  )
  .map((rows) => {
    let clock = 0
    return rows.map((r, i): Rec => {
      clock += r.step
      const t = Math.max(0, clock + r.jitter)
      return r.change ? { kind: 'change', key: r.key, t, value: r.value } : { kind: 'event', id: i, key: r.key, t }
    })
  })

const joined = (type: 'inner' | 'left', as: 'eventTime' | 'arrival') =>
  pipeline({ eventTime: (r: Rec) => r.t, watermark: boundedOutOfOrder(BOUND) }, (s) => {
    const changes = pipe(
      s,
      filter((r): r is Extract<Rec, { kind: 'change' }> => r.kind === 'change'),
      map((c): Change<number, number> => (c.value === null ? remove(c.key) : upsert(c.key, c.value))),
    )
    const events = pipe(s, filter((r): r is Extract<Rec, { kind: 'event' }> => r.kind === 'event'), keyBy((e) => e.key))
    return pipe(events, as === 'eventTime' ? temporalJoin(changes, { type }) : tableJoin(changes, { type }), map((j) => [j.left.id, j.right ?? null] as const))
  })

/** The positions of the records older than the watermark on arrival: the largest time before them minus the bound. */
const lateOnes = (log: readonly Rec[]): Set<number> => {
  const late = new Set<number>()
  let max = Number.NEGATIVE_INFINITY
  log.forEach((r, i) => {
    if (r.t < max - BOUND) late.add(i)
    max = Math.max(max, r.t)
  })
  return late
}

/** Straight from the definition: each on-time event with the last on-time change of its key at or before its time. */
function asOfEventTime(log: readonly Rec[], type: 'inner' | 'left'): (readonly [number, number | null])[] {
  const late = lateOnes(log)
  const onTime = log.map((r, i) => ({ r, i })).filter(({ i }) => !late.has(i))
  const out: { t: number; i: number; row: readonly [number, number | null] }[] = []
  for (const { r: e, i } of onTime) {
    if (e.kind !== 'event') continue
    let found: { t: number; value: number | null } | undefined
    for (const { r: c } of onTime) if (c.kind === 'change' && c.key === e.key && c.t <= e.t && (found === undefined || c.t >= found.t)) found = c
    const right = found?.value ?? null
    if (right === null && type === 'inner') continue
    out.push({ t: e.t, i, row: [e.id, right] })
  }
  return out.sort((a, b) => a.t - b.t || a.i - b.i).map((o) => o.row)
}

/** tableJoin's meaning: each event with the last change of its key before it in arrival order, at once. */
function asOfArrival(log: readonly Rec[], type: 'inner' | 'left'): (readonly [number, number | null])[] {
  const rows = new Map<number, number>()
  const out: (readonly [number, number | null])[] = []
  for (const r of log) {
    if (r.kind === 'change') {
      if (r.value === null) rows.delete(r.key)
      else rows.set(r.key, r.value)
      continue
    }
    const right = rows.get(r.key) ?? null
    if (right !== null || type === 'left') out.push([r.id, right])
  }
  return out
}

describe('temporalJoin against a brute-force "as of" lookup', () => {
  it.each(['inner', 'left'] as const)('%s: every on-time event gets its key\'s version at its event time; late records go to late', async (type) => {
    await fc.assert(
      fc.asyncProperty(logs, async (log) => {
        const r = await runPipeline(joined(type, 'eventTime'), log)
        expect(r.values).toEqual(asOfEventTime(log, type))
        expect(r.late.map((l) => l.pos).sort((a, b) => a - b)).toEqual([...lateOnes(log)])
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})

describe('tableJoin against a brute-force "as of arrival" lookup', () => {
  it.each(['inner', 'left'] as const)('%s: every event gets its key\'s row as the changes before it in the log left it, lateness aside', async (type) => {
    await fc.assert(
      fc.asyncProperty(logs, async (log) => {
        expect((await runPipeline(joined(type, 'arrival'), log)).values).toEqual(asOfArrival(log, type))
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})
