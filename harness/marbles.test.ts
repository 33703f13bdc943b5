import { describe, expect, it } from 'vitest'
import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, keyBy, pipeline, tumbling, window } from 'weirjs'
import { expectMarbles, MarbleMismatch, parseMarble, runMarbles } from 'weirjs/testing'

const Click = t.type({ user: t.string, ts: t.number })
type Click = t.TypeOf<typeof Click>

/** Clicks per user per minute, events up to 10 s out of order. */
const perMinute = pipeline({ codec: Click, eventTime: (c) => c.ts, watermark: boundedOutOfOrder('10s') }, (s) =>
  pipe(s, keyBy((c) => c.user), window(tumbling('1m')), aggregate(count)),
)
const ann: Click = { user: 'ann', ts: 0 }
const bob: Click = { user: 'bob', ts: 0 }
const minute = (user: string, m: number, value: number) => ({ key: user, window: { start: m * 60_000, end: (m + 1) * 60_000 }, value })
/** Frames of 10 s; each event takes its frame's time as event time. */
const tenSeconds = { frame: '10s', stamp: (c: Click, ts: number) => ({ ...c, ts }) } as const

describe('expectMarbles', () => {
  it('lays out input and results over frames of event time', async () => {
    await expectMarbles(perMinute, {
      ...tenSeconds,
      input: '  a-b-a--- b   -|',
      events: { a: ann, b: bob },
      output: ' --------(xy)-(z|)',
      outputs: { x: minute('ann', 0, 2), y: minute('bob', 0, 1), z: minute('bob', 1, 1) },
    })
    // Bob's click at frame 8 (80 s) raises the watermark to 70 s: minute 0 closes for both users.
  })

  it('shows late events and dead letters at the frame their input arrived', async () => {
    const late = { user: 'ann', ts: 1_000 }
    await expectMarbles(perMinute, {
      input: 'a---b-x-z-|',
      events: { a: { user: 'ann', ts: 0 }, b: { user: 'ann', ts: 70_000 }, x: late, z: { user: 7 } as unknown as Click },
      output: '----r-----(s|)',
      outputs: { r: minute('ann', 0, 1), s: minute('ann', 1, 1) },
      late: '  ------x',
      deadLetters: '--------z',
    })
  })

  it('fails with both marbles aligned, a caret at the first differing frame, and the values there', async () => {
    const failure = await expectMarbles(perMinute, {
      ...tenSeconds,
      input: 'a-a---a-|',
      events: { a: ann },
      output: '------x-(y|)',
      // Wrong twice: the third click (60 s) is in minute 1, and minute 0 closes only at the end.
      outputs: { x: minute('ann', 0, 3), y: minute('ann', 1, 1) },
    }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(MarbleMismatch)
    expect((failure as Error).message).toBe(
      [
        'marbles: output differs at frame 6 (time 60000)',
        '  input     a-a---a-|',
        '  expected  ------x-(y|)',
        '  actual    --------(?1y|)',
        '                  ^',
        "  expected at frame 6: x = { key: 'ann', value: 3, window: { end: 60000, start: 0 } }",
        '  actual at frame 6:   nothing',
        "  results not in outputs: ?1 = { key: 'ann', value: 2, window: { end: 60000, start: 0 } }",
      ].join('\n'),
    )
  })

  it('runMarbles gives what came out in the same notation', async () => {
    const r = await runMarbles(perMinute, { ...tenSeconds, input: 'a-----b|', events: { a: ann, b: bob }, outputs: { x: minute('ann', 0, 1) } })
    expect(r).toEqual({ output: '-------(x?1|)', late: '', deadLetters: '', unknown: [minute('bob', 1, 1)] })
  })

  describe('edge cases', () => {
    it('parses a group as one frame, and ignores spaces', () => {
      const m = parseMarble('a (bc)-d |')
      expect([...m.frames]).toEqual([[0, ['a']], [1, ['b', 'c']], [3, ['d']]])
      expect(m.end).toBe(4)
    })

    it('refuses letters that are not in the dictionary, and unbalanced groups', async () => {
      await expect(expectMarbles(perMinute, { input: 'q|', events: {} })).rejects.toThrow(/'q' is not in events/)
      expect(() => parseMarble('(ab')).toThrow(SyntaxError)
      await expect(expectMarbles(perMinute, { input: 'a|', events: { a: ann }, output: '-(z|)' })).rejects.toThrow(/'z' is not in outputs/)
    })

    it('says when the end of input is at the wrong frame', async () => {
      await expect(expectMarbles(perMinute, { input: 'a--|', events: { a: ann }, output: '---x', outputs: { x: minute('ann', 0, 1) } })).rejects.toThrow(
        /actual at frame 3: {3}x = .*, \| \(end of input\)/,
      )
    })
  })
})
