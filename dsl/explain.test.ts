import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { explain } from './explain.ts'
import { plan } from './plan.ts'
import { pipeline } from './pipeline.ts'
import { filter, keyBy, map, merge } from './stages.ts'
import { boundedOutOfOrder, idleTimeout } from './watermarks.ts'
import { microbatch } from './flow.ts'
import { aggregate, tumbling, window } from './windows.ts'
import { count } from './aggregations.ts'
import { tableTableJoin } from './joins.ts'
import { upsert } from './change.ts'

const Flight = t.type({ origin: t.string, delay: t.number, scheduled: t.number }, 'Flight')

const delayed = pipeline(
  { name: 'delayed', codec: Flight, eventTime: (f) => f.scheduled, watermark: [boundedOutOfOrder('2h'), idleTimeout('10m')] },
  (s) =>
    pipe(
      s,
      filter(function late(f) {
        return f.delay > 15
      }),
      map((f) => ({ ...f, hours: f.delay / 60 })),
      keyBy((f) => f.origin),
      microbatch(100, '1s'),
    ),
)

describe('explain', () => {
  it('prints the plan with stateless chains fused into one step', () => {
    expect(explain(delayed)).toBe(
      [
        'pipeline delayed',
        '  1. source (codec Flight), watermarks: boundedOutOfOrder 2h, idleTimeout 10m',
        '  2. fused[filter(late) → map → keyBy]  <- 1  (chained into 1)',
        '  3. microbatch(100, 1s)  <- 2',
      ].join('\n'),
    )
  })

  it('renders Mermaid with one node per operator and an edge per input', () => {
    expect(explain(delayed, { format: 'mermaid' })).toBe(
      [
        'flowchart LR',
        '  n1["source (codec Flight), watermarks: boundedOutOfOrder 2h, idleTimeout 10m"]',
        '  n2["fused[filter(late) → map → keyBy]"]',
        '  n3["microbatch(100, 1s)"]',
        '  n1 --> n2',
        '  n2 --> n3',
        '  n3 --> out(("out"))',
      ].join('\n'),
    )
  })

  it('marks the windows and patterns that run chained inside the source operator', () => {
    const p = pipeline({ codec: Flight, eventTime: (f) => f.scheduled }, (s) =>
      pipe(s, keyBy((f) => f.origin), window(tumbling('1h')), aggregate(count), map((r) => r.value)),
    )
    expect(plan(p).map((x) => x.chained)).toEqual([false, true, true, true])
    const broken = pipeline({ codec: Flight, eventTime: (f) => f.scheduled }, (s) =>
      pipe(
        s,
        keyBy((f) => f.origin),
        merge(pipe(s, keyBy((f) => String(f.delay)))),
        merge(pipe(s, keyBy((f) => f.origin))),
        window(tumbling('1h')),
        aggregate(count),
      ),
    )
    // A source read by stages that are not the branches of one merge or join is multicast, and the
    // merges are operators of their own: nothing is chained.
    expect(plan(broken).map((x) => `${x.label}${x.chained ? '*' : ''}`)).toEqual([
      'source (codec Flight), watermarks: boundedOutOfOrder 0ms',
      'keyBy',
      'keyBy',
      'merge (min watermark)',
      'keyBy',
      'merge (min watermark)',
      'window tumbling 1h → aggregate',
    ])
  })

  it('chains a join whose two branches start at one stream: each branch, then the join, inside the source operator', () => {
    const p = pipeline({ name: 'delays', codec: Flight, eventTime: (f) => f.scheduled }, (s) => {
      const late = pipe(s, filter((f) => f.delay > 15), map((f) => upsert(f.origin, f.delay)))
      const early = pipe(s, filter((f) => f.delay < 0), map((f) => upsert(f.origin, -f.delay)))
      return pipe(late, tableTableJoin(early, { type: 'outer' }), map((c) => c.key))
    })
    expect(explain(p)).toBe(
      [
        'pipeline delays',
        '  1. source (codec Flight), watermarks: boundedOutOfOrder 0ms',
        '  2. fused[filter → map]  <- 1  (chained into 1)',
        '  3. fused[filter → map]  <- 1  (chained into 1)',
        '  4. tableTableJoin(outer)  <- 2, 3  (chained into 1)',
        '  5. map  <- 4  (chained into 1)',
      ].join('\n'),
    )
  })

  it('does not fuse across a stream read by two stages, and shows it once', () => {
    const p = pipeline({ codec: Flight }, (s) => {
      const base = pipe(s, map((f) => f.delay))
      return pipe(base, filter((d) => d > 0), merge(pipe(base, filter((d) => d < 0))))
    })
    expect(plan(p).map((x) => `${x.id}:${x.label}<${x.inputs.join(',')}`)).toEqual([
      '1:source (codec Flight), watermarks: boundedOutOfOrder 0ms<',
      '2:map<1',
      '3:filter<2',
      '4:filter<2',
      '5:merge (min watermark)<3,4',
    ])
  })
})
