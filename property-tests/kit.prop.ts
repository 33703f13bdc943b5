import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { aggregate, boundedOutOfOrder, count, dedupe, flatMap, keyBy, map, pipe, pipeline, session, sum, tumbling, window, windowId } from 'weirjs'
import type { Stream } from 'weirjs'
import {
  changelogMatchesFinal,
  changelogTable,
  eventLog,
  everyLineIsAccountedFor,
  idempotentUnderRedelivery,
  orderInsensitive,
  redelivered,
  reorderedWithin,
  replayIsDeterministic,
  shuffled,
  windowOracle,
  LawViolation,
} from 'weirjs/property-tests'
import type { LogEvent } from 'weirjs/property-tests'

/** The kit used the way a user would, through the package's public entry points. */
const D = 200
const perKey = (emit: 'final' | 'updates') =>
  pipeline({ eventTime: (e: LogEvent) => e.time, watermark: boundedOutOfOrder(D) }, (s: Stream<LogEvent>) =>
    pipe(
      s,
      keyBy((e) => e.key),
      window(session(300), { emit }),
      aggregate({ n: count, ids: sum((e: LogEvent) => e.id) }),
    ),
  )
const logs = eventLog({ maxDisorder: D, maxStep: 400 }).chain((log) => fc.tuple(fc.constant(log), reorderedWithin(log, D)))

describe('property kit: order-insensitivity and changelogs', () => {
  it('reorderedWithin keeps every event and no event more than d behind one delivered before it', () => {
    fc.assert(
      fc.property(logs, ([log, other]) => {
        expect(other.records.map((r) => r.event.id).sort((a, b) => a - b)).toEqual(
          [...new Set(log.records.map((r) => r.event.id))].sort((a, b) => a - b),
        )
        let max = Number.NEGATIVE_INFINITY
        for (const r of other.records) {
          expect(r.event.time).toBeGreaterThanOrEqual(max - D)
          max = Math.max(max, r.event.time)
        }
      }),
      { seed: 8008, numRuns: 200 },
    )
  })

  it('session windows give the same final results in any arrival order within the bound', async () => {
    await fc.assert(
      fc.asyncProperty(logs, async ([log, other]) => {
        await orderInsensitive(perKey('final'), log.lines, other.lines)
        await orderInsensitive(perKey('updates'), log.lines, other.lines, { finalize: changelogTable })
      }),
      { seed: 8009, numRuns: 100 },
    )
  })

  it("the 'updates' changelog converges to the 'final' results", async () => {
    await fc.assert(
      fc.asyncProperty(logs, async ([log]) => {
        await changelogMatchesFinal(perKey('updates'), perKey('final'), log.lines, (r) => windowId(r.key, r.window))
      }),
      { seed: 8010, numRuns: 100 },
    )
  })

  it('catches a pipeline that depends on arrival order', async () => {
    let seq = 0
    const orderDependent = pipeline({ eventTime: (e: LogEvent) => e.time, watermark: boundedOutOfOrder(D) }, (s: Stream<LogEvent>) =>
      pipe(
        s,
        map((e) => ({ ...e, seq: seq++ % 2 })),
        keyBy((e) => e.key),
        window(tumbling(1000)),
        aggregate(sum((e: { seq: number }) => e.seq)),
      ),
    )
    const a = ['{"arrival":1,"event":{"id":0,"key":"a","time":1}}', '{"arrival":2,"event":{"id":1,"key":"b","time":2}}']
    await expect(orderInsensitive(orderDependent, a, [a[1], a[0]])).rejects.toBeInstanceOf(LawViolation)
  })

  it("catches a changelog that does not converge (a 'final' pipeline that differs)", async () => {
    const [log] = fc.sample(eventLog({ minLength: 5 }), { seed: 1, numRuns: 1 })
    const other = pipeline({ eventTime: (e: LogEvent) => e.time }, (s: Stream<LogEvent>) =>
      pipe(s, keyBy((e) => e.key), window(session(10)), aggregate({ n: count, ids: sum((e: LogEvent) => e.id) })),
    )
    await expect(changelogMatchesFinal(perKey('updates'), other, log.lines, (r) => windowId(r.key, r.window))).rejects.toBeInstanceOf(LawViolation)
  })
})

describe('property kit: idempotency under redelivery', () => {
  // A bound wide enough that a redelivered event is never late: only dedupe keeps it out.
  const counts = (deduped: boolean) =>
    pipeline({ eventTime: (e: LogEvent) => e.time, watermark: boundedOutOfOrder(1_000_000) }, (s: Stream<LogEvent>) =>
      pipe(
        deduped ? pipe(s, dedupe((e: LogEvent) => e.id, '1h')) : s,
        keyBy((e) => e.key),
        window(tumbling(1000)),
        aggregate(count),
      ),
    )
  const pairs = eventLog({ minLength: 1, maxLength: 30 }).chain((log) => fc.tuple(fc.constant(log), redelivered(log)))

  it('holds for a pipeline that drops repeats (dedupe by id)', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async ([log, again]) => {
        await idempotentUnderRedelivery(counts(true), log.lines, again.lines)
      }),
      { seed: 11, numRuns: 25 },
    )
  })

  it('catches a pipeline that counts a redelivered event twice', async () => {
    const [log, again] = fc.sample(pairs.filter(([, a]) => a.duplicates > 0), { seed: 3, numRuns: 1 })[0]
    await expect(idempotentUnderRedelivery(counts(false), log.lines, again.lines)).rejects.toBeInstanceOf(LawViolation)
  })
})

describe('property kit: laws see what totals and JSON hide', () => {
  const line = (id: number, key: string, time: number) => JSON.stringify({ arrival: time, event: { id, key, time } })
  const log3 = [line(0, 'a', 1), line(1, 'b', 2), line(2, 'a', 3)]

  it('everyLineIsAccountedFor catches a pipeline that loses one event and emits another twice (the totals agree)', async () => {
    const loseOneDoubleAnother = pipeline({ eventTime: (e: LogEvent) => e.time }, (s: Stream<LogEvent>) =>
      pipe(s, flatMap((e: LogEvent) => (e.id === 0 ? [] : e.id === 1 ? [e, e] : [e]))),
    )
    await expect(everyLineIsAccountedFor(loseOneDoubleAnother, log3)).rejects.toThrow(/offset 1: 1 input line\(s\), but 0/)
  })

  it('replayIsDeterministic sees into Maps (JSON writes every Map as {})', async () => {
    const random = pipeline({ eventTime: (e: LogEvent) => e.time }, (s: Stream<LogEvent>) => pipe(s, map((e) => new Map([[e.key, Math.random()]]))))
    await expect(replayIsDeterministic(random, log3)).rejects.toBeInstanceOf(LawViolation)
  })
})

describe('property kit: arbitraries keep their options', () => {
  it('eventLog({ minLength: 80 }) gives at least 80 events (maxLength defaults to at least minLength)', () => {
    for (const log of fc.sample(eventLog({ minLength: 80 }), { seed: 42, numRuns: 5 })) expect(log.records.length).toBeGreaterThanOrEqual(80)
  })

  it('shuffled(log).records are the records of its lines, in their new order', () => {
    fc.assert(
      fc.property(eventLog({ minLength: 3, maxLength: 10, malformed: true }).chain(shuffled), (s) => {
        const ids = s.lines.flatMap((l) => {
          try {
            return [(JSON.parse(l) as { event: LogEvent }).event.id]
          } catch {
            return []
          }
        })
        expect(s.records.map((r) => r.event.id)).toEqual(ids.filter((id) => id !== undefined))
      }),
      { seed: 7, numRuns: 30 },
    )
  })

  it('the window oracle is exported: tumbling counts of a tiny log', () => {
    const r = windowOracle(tumbling(10), 0, 0, [
      { k: 'a', t: 1, v: 1, id: 0 },
      { k: 'a', t: 9, v: 2, id: 1 },
      { k: 'a', t: 10, v: 3, id: 2 },
    ])
    expect(r.emissions.map((e) => [e.start, e.value.n, e.value.sum])).toEqual([
      [0, 2, 3],
      [10, 1, 3],
    ])
  })
})
