import { describe, expect, it } from 'vitest'
import { hopping, session, sliding, tumbling, type WindowAssigner, type WindowSpec } from '../../dsl/windows.ts'
import { count, mean, sum } from '../../dsl/aggregations.ts'
import { Driver } from '../testing/windowDriver.ts'

const spec = (assigner: WindowAssigner, allowedLateness = 0, emit: 'final' | 'updates' = 'final'): WindowSpec => ({
  assigner,
  allowedLateness,
  emit,
  aggregation: { n: count, total: sum((v: number) => v), avg: mean((v: number) => v) },
})

/** One window of each type, sized for the 2 ms event spacing of the bounded-state tests. */
const kinds: [string, WindowAssigner][] = [
  ['tumbling', tumbling(1000)],
  ['hopping', hopping(1000, 250)],
  ['sliding', sliding(200)],
  ['session', session(300)],
]

describe('window state is bounded by open windows, never by events', () => {
  for (const [name, a] of kinds)
    it(`${name}: open windows stay bounded while 100k events stream through, and all state is freed at the end`, () => {
      const keys = 50
      const drv = new Driver(spec(a, 100), 50)
      let peak = 0
      for (let i = 0; i < 100_000; i++) {
        // Keys go quiet in turns (every key is idle for 2 s out of every 20 s), so sessions close.
        const t = i * 2
        const k = i % keys
        if (Math.floor(t / 2000) % 10 === k % 10) continue
        drv.event(k, t - (i % 7) * 5, i % 13, i)
        peak = Math.max(peak, drv.machine.openWindows)
      }
      expect(peak).toBeLessThanOrEqual(keys * 8)
      expect(drv.machine.openWindows).toBeGreaterThan(0)
      drv.end()
      expect(drv.machine.openWindows).toBe(0)
      expect(drv.machine.openKeys).toBe(0)
    })
})

describe('key states are bounded by open windows too', () => {
  for (const [name, a] of kinds)
    it(`${name}: a stream of ever new keys keeps at most twice the most open windows' key states (plus 1,024)`, () => {
      const drv = new Driver(spec(a, 100), 50)
      let peakWindows = 0
      let peakKeys = 0
      for (let i = 0; i < 60_000; i++) {
        drv.event(`k${i}`, i * 2, i % 13, i)
        peakWindows = Math.max(peakWindows, drv.machine.openWindows)
        peakKeys = Math.max(peakKeys, drv.machine.openKeys)
      }
      // A sliding key also lives while its buffer does, up to size + L = 300 ms after its event:
      // 150 more live keys at one event every 2 ms.
      const live = peakWindows + (name === 'sliding' ? 150 : 0)
      expect(peakKeys).toBeLessThanOrEqual(2 * live + 1024)
      drv.end()
      expect(drv.machine.openKeys).toBe(0)
    })
})

describe('checkpoints', () => {
  it('a snapshot is plain JSON and a restored machine continues exactly as the original', () => {
    const log: [string, number, number][] = [
      ['a', 10, 1],
      ['b', 12, 2],
      ['a', 31, 3],
      ['a', 18, 4],
      ['b', 45, 5],
      ['a', 50, 6],
      ['b', 20, 7],
      ['a', 49, 8],
    ]
    for (const a of [tumbling(20), hopping(20, 5), sliding(15), session(8)])
      for (const emit of ['final', 'updates'] as const)
        for (let cut = 0; cut <= log.length; cut++) {
          const whole = new Driver(spec(a, 10, emit), 5)
          log.forEach(([k, t, v], i) => whole.event(k, t, v, i))
          whole.end()

          const first = new Driver(spec(a, 10, emit), 5)
          log.slice(0, cut).forEach(([k, t, v], i) => first.event(k, t, v, i))
          const saved = JSON.parse(JSON.stringify(first.machine.snapshot()))
          const second = new Driver(spec(a, 10, emit), 5)
          second.maxSeen = first.maxSeen
          second.wm = first.wm
          second.machine.restore(saved)
          log.slice(cut).forEach(([k, t, v], i) => second.event(k, t, v, cut + i))
          second.end()
          expect([...first.trace, ...second.trace], `${a._tag} ${emit} cut ${cut}`).toEqual(whole.trace)
        }
  })

  it('restoring into a machine that already ran replaces all of its state, queued windows included', () => {
    const log: [string, number, number][] = [
      ['a', 10, 1],
      ['b', 12, 2],
      ['a', 31, 3],
      ['b', 45, 5],
    ]
    for (const a of [tumbling(20), hopping(20, 5), sliding(15), session(8)]) {
      const first = new Driver(spec(a, 10, 'final'), 5)
      log.slice(0, 2).forEach(([k, t, v], i) => first.event(k, t, v, i))
      const saved = JSON.parse(JSON.stringify(first.machine.snapshot()))
      const continueOn = (d: Driver) => {
        d.trace.length = 0
        d.maxSeen = first.maxSeen
        d.wm = first.wm
        d.machine.restore(saved)
        log.slice(2).forEach(([k, t, v], i) => d.event(k, t, v, 2 + i))
        d.end()
        return d.trace
      }
      const used = new Driver(spec(a, 10, 'final'), 5)
      used.event('z', 3, 9, 0)
      used.event('y', 7, 9, 1)
      expect(continueOn(used), a._tag).toEqual(continueOn(new Driver(spec(a, 10, 'final'), 5)))
    }
  })
})
