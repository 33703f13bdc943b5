import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { aggregate, boundedOutOfOrder, count, keyBy, map, pipe, pipeline, session, sum, tumbling, window, windowId } from 'weir'
import type { Stream } from 'weir'
import { changelogMatchesFinal, changelogTable, eventLog, orderInsensitive, reorderedWithin, LawViolation } from 'weir/property-tests'
import type { LogEvent } from 'weir/property-tests'

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

