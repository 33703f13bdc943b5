import { describe, expect, it } from 'vitest'
import { Subject } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import type { Data } from '../dsl/element.ts'
import { compileElements } from '../dsl/compile.ts'
import { dedupe } from '../dsl/dedupe.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { map } from '../dsl/stages.ts'
import { VirtualClock } from '../harness/VirtualClock.ts'
import { runPipeline } from './testing/runPipeline.ts'
import { makeContext } from './core/context.ts'
import { dedupeMachine } from './dedupe.ts'

type Msg = { id: string; n: number }

describe('dedupe', () => {
  it('drops redelivered events by id and keeps the first sighting', async () => {
    const p = pipeline({ eventTime: (m: Msg) => m.n }, (s) => pipe(s, dedupe((m) => m.id, '1m'), map((m) => m.n)))
    const input: Msg[] = [
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
      { id: 'a', n: 3 },
      { id: 'c', n: 4 },
      { id: 'b', n: 5 },
    ]
    expect((await runPipeline(p, input)).values).toEqual([1, 2, 4])
  })

  it('forgets an id ttl after it was first seen, on the scheduler clock', () => {
    const clock = new VirtualClock(0)
    const out: number[] = []
    const input = new Subject<Data<unknown>>()
    const p = pipeline({ eventTime: (m: Msg) => m.n }, (s) => pipe(s, dedupe((m) => m.id, 100), map((m) => m.n)))
    input.pipe(compileElements(p, makeContext({ scheduler: clock }))).subscribe((e) => void (e._tag === 'Data' && out.push(e.value)))
    const send = (at: number, n: number) => {
      clock.advanceTo(at)
      input.next({ _tag: 'Data', value: { id: 'a', n }, time: Number.NaN, key: undefined, pos: n })
    }
    send(0, 1)
    send(99, 2)
    send(100, 3)
    send(150, 4)
    expect(out).toEqual([1, 3])
  })

  it('sends a throwing id function to dead letters and goes on', async () => {
    const p = pipeline({ eventTime: (m: Msg) => m.n }, (s) =>
      pipe(
        s,
        dedupe((m) => {
          if (m.id === '') throw new Error('no id')
          return m.id
        }, '1s'),
      ),
    )
    const r = await runPipeline(p, [
      { id: '', n: 1 },
      { id: 'x', n: 2 },
    ])
    expect(r.values.map((m) => m.n)).toEqual([2])
    expect(r.dead.map((d) => [d.reason, d.stage, d.pos])).toEqual([['user', 'dedupe', 0]])
  })

  it('snapshot mid-stream, restore into a fresh machine and continue: same output as uninterrupted', () => {
    const clock = new VirtualClock(0)
    const ids = 'abacbdaecfab'
    const run = (cut: number | undefined) => {
      clock.advanceTo(0)
      const out: number[] = []
      const ctx = makeContext({ scheduler: { now: () => now, schedule: clock.schedule.bind(clock) } })
      let now = 0
      const mk = () => dedupeMachine({ by: (v) => v as string, ttl: 5 }, ctx, (d) => out.push(d.pos))
      let m = mk()
      ;[...ids].forEach((id, pos) => {
        now = pos
        if (pos === cut) {
          const s = JSON.parse(JSON.stringify(m.snapshot!()))
          m = mk()
          m.restore!(s)
        }
        m.data({ _tag: 'Data', value: id, time: pos, key: undefined, pos })
      })
      return out
    }
    expect(run(6)).toEqual(run(undefined))
    // a@0 is forgotten at 5, b@1 at 6, c@3 at 8: a (pos 6), c (8) and b (11) pass again
    expect(run(undefined)).toEqual([0, 1, 3, 5, 6, 7, 8, 9, 11])
  })

  it('rejects a bad ttl at definition time', () => {
    expect(() => dedupe((m: Msg) => m.id, '0s' as '1s')).toThrow(/dedupe/)
  })

  it('sends an event whose id is not a key (a missing field) to dead letters, not away as a repeat', async () => {
    type M = { id?: string; n: number }
    const p = pipeline({ eventTime: (m: M) => m.n }, (s) => pipe(s, dedupe((m: M) => m.id as string, '1m'), map((m: M) => m.n)))
    const r = await runPipeline(p, [{ n: 1 }, { n: 2 }, { id: 'a', n: 3 }, { id: 'a', n: 4 }])
    expect(r.values).toEqual([3])
    expect(r.dead.map((d) => [d.stage, d.pos, d.message])).toEqual([
      ['dedupe', 0, 'id must be a string or a number, got undefined'],
      ['dedupe', 1, 'id must be a string or a number, got undefined'],
    ])
  })
})
