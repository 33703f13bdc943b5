import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { replay } from '../harness/replay.ts'
import { stateText } from './state.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { temporalJoin } from '../dsl/temporalJoin.ts'
import { upsert } from '../dsl/change.ts'
import { windowJoin } from '../dsl/joins.ts'
import { match, pattern } from '../dsl/patterns.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import type { Stream } from '../dsl/stream.ts'

interface Ev {
  readonly k: string
  readonly t: number
  readonly kind: 'a' | 'b'
}
const evs: Ev[] = [
  { k: 'x', t: 0, kind: 'a' },
  { k: 'y', t: 5, kind: 'b' },
  { k: 'x', t: 10, kind: 'b' },
  { k: 'y', t: 100, kind: 'a' },
]
const log = evs.map((event, offset) => ({ offset, arrival: offset, event }))
const opts = { eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(50) }
const record = { offset: 3, arrival: 3, topic: 'default', event: evs[3] }

describe('stateText', () => {
  it('lists pending matches with their steps and deadlines, and the events waiting for the watermark', async () => {
    const p = pipeline({ name: 'ab', ...opts }, (s: Stream<Ev>) =>
      pipe(s, keyBy((e) => e.k), match(pattern<Ev>().begin('a', (e) => e.kind === 'a').followedBy('b', (e) => e.kind === 'b').within(200))),
    )
    const more = [...log, { offset: 4, arrival: 4, event: { k: 'z', t: 200, kind: 'b' } }]
    const { states } = await replay(p, more, { inspect: [4] })
    // Watermark 200 - 50 = 150: x's a@0 b@10 has matched; y's a@100 waits for a 'b'; z's b@200 for the watermark.
    expect(stateText('ab', { ...record, offset: 4, arrival: 4 }, states![0]).split('\n')).toEqual([
      'pipeline ab, after offset 4 (arrival 1970-01-01T00:00:00.004Z)',
      '  source: watermark 1970-01-01T00:00:00.150Z, largest event time 1970-01-01T00:00:00.200Z',
      expect.stringMatching(/^ {2}3\. .*: 1 pending match, 1 event waiting for the watermark 1970-01-01T00:00:00\.150Z$/),
      `    key "y" at step 'a', started 1970-01-01T00:00:00.100Z, deadline 1970-01-01T00:00:00.300Z: a = offset 3`,
      '    waiting: key "z" offset 4 at 1970-01-01T00:00:00.200Z: {"k":"z","t":200,"kind":"b"}',
    ])
  })

  it('lists join buffers per key, with the offsets of the events each side holds', async () => {
    const p = pipeline({ name: 'j', ...opts }, (s: Stream<Ev>) => {
      const as = pipe(s, filter((e) => e.kind === 'a'), keyBy((e) => e.k))
      const bs = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
      return pipe(as, windowJoin(bs, { within: 30, type: 'left' }))
    })
    const { states } = await replay(p, log, { inspect: [2] })
    expect(stateText('j', record, states![0]).split('\n').slice(2)).toEqual([
      // Watermark 10 - 50: nothing has left the buffers.
      '  4. windowJoin(left, within 30ms): 2 keys buffered, watermark 1969-12-31T23:59:59.960Z',
      '    key "x": left offsets 0 (matched); right offsets 2 (matched)',
      '    key "y": left offsets none; right offsets 1',
    ])
  })

  it('lists a temporal join\'s versions per key and the events waiting for the watermark', async () => {
    const p = pipeline({ name: 't', ...opts }, (s: Stream<Ev>) => {
      const versions = pipe(s, filter((e) => e.kind === 'a'), map((e) => upsert(e.k, e.t)))
      const events = pipe(s, filter((e) => e.kind === 'b'), keyBy((e) => e.k))
      return pipe(events, temporalJoin(versions))
    })
    const { states } = await replay(p, log, { inspect: [2] })
    expect(stateText('t', record, states![0]).split('\n').slice(2)).toEqual([
      // Watermark 10 - 50: both events wait for it to pass their times.
      expect.stringMatching(/^ {2}\d+\. temporalJoin\(inner\): 1 version of 1 key, 2 events waiting for the watermark 1969-12-31T23:59:59\.960Z$/),
      '    key "x": from 1970-01-01T00:00:00.000Z 0',
      '    waiting: key "y" offset 1 at 1970-01-01T00:00:00.005Z: {"k":"y","t":5,"kind":"b"}',
      '    waiting: key "x" offset 2 at 1970-01-01T00:00:00.010Z: {"k":"x","t":10,"kind":"b"}',
    ])
  })
})
