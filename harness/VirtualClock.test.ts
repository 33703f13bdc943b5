import { describe, expect, it } from 'vitest'
import { Subject, bufferTime, debounceTime, delay, of, timer, type SchedulerAction } from 'rxjs'
import { VirtualClock } from './VirtualClock.ts'

describe('VirtualClock', () => {
  it('runs the docs example: delay(100) emits exactly at t = 100', () => {
    const clock = new VirtualClock(0)
    const seen: number[] = []
    of(1, 2, 3).pipe(delay(100, clock)).subscribe((x) => seen.push(x))
    clock.advanceTo(99)
    expect(seen).toEqual([])
    clock.advanceTo(100)
    expect(seen).toEqual([1, 2, 3])
  })

  it('fires timers in due-time order, whatever order they were scheduled in', () => {
    const clock = new VirtualClock(1000)
    const fired: string[] = []
    for (const [name, d] of [['c', 30], ['a', 10], ['d', 40], ['b', 20]] as const)
      clock.schedule(() => fired.push(`${name}@${clock.now()}`), d)
    clock.advanceTo(1025)
    expect(fired).toEqual(['a@1010', 'b@1020'])
    expect(clock.now()).toBe(1025)
    clock.flush()
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1030', 'd@1040'])
  })

  it('breaks ties between timers due at the same time by insertion order', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    for (let i = 0; i < 50; i++) clock.schedule(() => fired.push(i), 5)
    clock.advanceTo(5)
    expect(fired).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('fires a timer at or before the target: due exactly at t fires, due after t waits', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    clock.schedule(() => fired.push(10), 10)
    clock.schedule(() => fired.push(11), 11)
    clock.advanceTo(10)
    expect(fired).toEqual([10])
    expect(clock.pending).toBe(1)
    expect(clock.nextDue).toBe(11)
  })

  it('runs timers scheduled by timers within the same advance, in time order', () => {
    const clock = new VirtualClock()
    const fired: string[] = []
    clock.schedule(() => {
      fired.push(`outer@${clock.now()}`)
      clock.schedule(() => fired.push(`inner@${clock.now()}`), 5)
      clock.schedule(() => fired.push(`zero@${clock.now()}`), 0)
    }, 10)
    clock.schedule(() => fired.push(`later@${clock.now()}`), 12)
    clock.advanceTo(20)
    expect(fired).toEqual(['outer@10', 'zero@10', 'later@12', 'inner@15'])
  })

  it('lets an action reschedule itself with this.schedule(state, delay)', () => {
    const clock = new VirtualClock()
    const ticks: Array<[number, number]> = []
    clock.schedule(
      function (this: SchedulerAction<number>, n?: number) {
        ticks.push([clock.now(), n!])
        if (n! < 3) this.schedule(n! + 1, 100)
      },
      100,
      1,
    )
    clock.flush()
    expect(ticks).toEqual([
      [100, 1],
      [200, 2],
      [300, 3],
    ])
  })

  it('rescheduling a queued action moves it instead of queueing it twice', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    const action = clock.schedule(function (this: SchedulerAction<number>, s?: number) {
      fired.push(s!)
    }, 50, 1) as unknown as SchedulerAction<number>
    action.schedule(2, 10)
    expect(clock.pending).toBe(1)
    clock.flush()
    expect(fired).toEqual([2])
    expect(clock.now()).toBe(10)
  })

  it('cancels a timer when its subscription is unsubscribed, wherever it sits in the heap', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    const subs = Array.from({ length: 20 }, (_, i) => clock.schedule(() => fired.push(i), (i * 7) % 20))
    for (const i of [0, 5, 13, 19]) subs[i].unsubscribe()
    subs[5].unsubscribe()
    expect(clock.pending).toBe(16)
    clock.flush()
    const expected = Array.from({ length: 20 }, (_, i) => i)
      .filter((i) => ![0, 5, 13, 19].includes(i))
      .sort((a, b) => ((a * 7) % 20) - ((b * 7) % 20) || a - b)
    expect(fired).toEqual(expected)
  })

  it('drops cancelled timers in bulk: thousands cancelled and rescheduled, the rest still fire in order', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    const subs = Array.from({ length: 5000 }, (_, i) =>
      clock.schedule(function (this: SchedulerAction<number>, s?: number) {
        fired.push(s!)
      }, 10_000 - i, i) as unknown as SchedulerAction<number>,
    )
    for (let i = 0; i < 5000; i++) if (i % 5 !== 0) subs[i].unsubscribe()
    expect(clock.pending).toBe(1000)
    for (let i = 0; i < 5000; i += 10) subs[i].schedule(-i, 1)
    expect(clock.pending).toBe(1000)
    clock.flush()
    const moved = Array.from({ length: 500 }, (_, k) => -k * 10)
    const stayed = Array.from({ length: 500 }, (_, k) => 4995 - k * 10)
    expect(fired).toEqual([...moved, ...stayed])
    expect(clock.pending).toBe(0)
  })

  it('a closed action ignores schedule()', () => {
    const clock = new VirtualClock()
    let runs = 0
    const a = clock.schedule(() => runs++, 5) as unknown as SchedulerAction<void>
    a.unsubscribe()
    a.schedule(undefined, 1)
    clock.flush()
    expect(runs).toBe(0)
  })

  it('never moves backwards: advancing to the past fires nothing and keeps now()', () => {
    const clock = new VirtualClock(500)
    let fired = 0
    clock.schedule(() => fired++, 0)
    clock.advanceTo(100)
    expect(fired).toBe(0)
    expect(clock.now()).toBe(500)
    clock.advanceBy(0)
    expect(fired).toBe(1)
  })

  it('propagates an exception from a timer and keeps the rest queued', () => {
    const clock = new VirtualClock()
    const fired: number[] = []
    clock.schedule(() => {
      throw new Error('boom')
    }, 1)
    clock.schedule(() => fired.push(2), 2)
    expect(() => clock.advanceTo(5)).toThrow('boom')
    expect(clock.pending).toBe(1)
    clock.advanceTo(5)
    expect(fired).toEqual([2])
  })

  it('rejects a non-finite start time', () => {
    expect(() => new VirtualClock(Number.NaN)).toThrow(/start must be a finite number/)
  })

  it('orders 10k random timers exactly like a stable sort by due time', () => {
    const clock = new VirtualClock()
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const dues = Array.from({ length: 10_000 }, () => Math.floor(rand() * 500))
    const fired: number[] = []
    dues.forEach((d, i) => clock.schedule(() => fired.push(i), d))
    clock.flush()
    const expected = dues.map((_, i) => i).sort((a, b) => dues[a] - dues[b] || a - b)
    expect(fired).toEqual(expected)
  })
})

describe('RxJS time-based operators on the VirtualClock', () => {
  it('bufferTime(100) cuts buffers every 100 ms of virtual time', () => {
    const clock = new VirtualClock(0)
    const src = new Subject<number>()
    const out: Array<[number, number[]]> = []
    src.pipe(bufferTime(100, clock)).subscribe((b) => out.push([clock.now(), b]))
    clock.advanceTo(10)
    src.next(1)
    clock.advanceTo(50)
    src.next(2)
    clock.advanceTo(150)
    src.next(3)
    clock.advanceTo(300)
    src.complete()
    expect(out).toEqual([
      [100, [1, 2]],
      [200, [3]],
      [300, []],
      [300, []],
    ])
  })

  it('debounceTime(50) emits the last value once input has been quiet for 50 ms', () => {
    const clock = new VirtualClock(0)
    const src = new Subject<string>()
    const out: Array<[number, string]> = []
    src.pipe(debounceTime(50, clock)).subscribe((v) => out.push([clock.now(), v]))
    src.next('a')
    clock.advanceTo(30)
    src.next('b') // resets the quiet period: due at 80
    clock.advanceTo(79)
    expect(out).toEqual([])
    clock.advanceTo(80)
    expect(out).toEqual([[80, 'b']])
    clock.advanceTo(200)
    src.next('c')
    src.complete() // completion flushes the pending value at once
    expect(out).toEqual([
      [80, 'b'],
      [200, 'c'],
    ])
  })

  it('delay(25) shifts each value by 25 ms of virtual time and keeps their order', () => {
    const clock = new VirtualClock(1000)
    const src = new Subject<number>()
    const out: Array<[number, number]> = []
    src.pipe(delay(25, clock)).subscribe((v) => out.push([clock.now(), v]))
    src.next(1)
    clock.advanceTo(1010)
    src.next(2)
    src.next(3)
    clock.flush()
    expect(out).toEqual([
      [1025, 1],
      [1035, 2],
      [1035, 3],
    ])
  })

  it('timer(0, 10) ticks on virtual time and stops when unsubscribed', () => {
    const clock = new VirtualClock(0)
    const ticks: Array<[number, number]> = []
    const sub = timer(0, 10, clock).subscribe((n) => ticks.push([clock.now(), n]))
    clock.advanceTo(30)
    sub.unsubscribe()
    expect(clock.pending).toBe(0)
    clock.advanceTo(100)
    expect(ticks).toEqual([
      [0, 0],
      [10, 1],
      [20, 2],
      [30, 3],
    ])
  })
})

describe('edge cases', () => {
  describe('VirtualClock', () => {
    it('advanceTo(+Infinity) runs every timer instead of throwing', () => {
      const clock = new VirtualClock(0)
      let fired = 0
      clock.schedule(() => void fired++, 10)
      expect(() => clock.advanceTo(Number.POSITIVE_INFINITY)).not.toThrow()
      expect(fired).toBe(1)
    })
  })
})
