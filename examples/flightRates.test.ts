import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { replay, windowId } from 'weirjs'
import { departuresPerHour, finalResults, rollingDelay } from './flightRates.ts'
import { dataFile, type Flight } from './data.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** The log in arrival order, as the replay delivers it. */
const flights: Flight[] = readFileSync(dataFile('flights.ndjson'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).event)

describe('examples/flightRates', () => {
  it('departures per hour per airport equal a direct count of the raw log', async () => {
    const { out, late, deadLetters } = await replay(departuresPerHour(), dataFile('flights.ndjson'))
    expect(deadLetters).toEqual([])
    expect(late).toEqual([])
    const expected = new Map<string, number>()
    for (const f of flights) {
      const id = windowId(f.origin, { start: Math.floor(f.scheduled / HOUR) * HOUR, end: Math.floor(f.scheduled / HOUR) * HOUR + HOUR })
      expected.set(id, (expected.get(id) ?? 0) + 1)
    }
    const got = new Map([...finalResults(out)].map(([id, r]) => [id, r.value]))
    expect(got).toEqual(expected)
    // Delayed departures arrive after their hour fired: allowed lateness re-emitted those hours.
    expect(out.length).toBeGreaterThan(got.size)
  })

  it('without allowed lateness, exactly the departures whose hour had passed the watermark are late', async () => {
    const { out, late } = await replay(departuresPerHour(0), dataFile('flights.ndjson'))
    let maxSeen = -Infinity
    const expectedLate: number[] = []
    for (const f of flights) {
      const end = Math.floor(f.scheduled / HOUR) * HOUR + HOUR
      if (end <= maxSeen - HOUR) expectedLate.push(f.id)
      maxSeen = Math.max(maxSeen, f.scheduled)
    }
    expect(expectedLate.length).toBeGreaterThan(0)
    expect(late.map((l) => (l.value as Flight).id)).toEqual(expectedLate)
    expect(out.reduce((n, r) => n + r.value, 0)).toBe(flights.length - expectedLate.length)
    expect(late[0]).toMatchObject({ stage: 'window', windows: [{ end: expect.any(Number) }] })
  })

  it('the rolling 24-hour mean delay of each departure equals a direct computation over its airport', async () => {
    const { out, late } = await replay(rollingDelay(), dataFile('flights.ndjson'))
    expect(late).toEqual([])
    const results = finalResults(out)
    const byOrigin = new Map<string, Flight[]>()
    for (const f of flights) byOrigin.set(f.origin, [...(byOrigin.get(f.origin) ?? []), f])
    let checked = 0
    for (const [origin, fs] of byOrigin)
      for (const t of new Set(fs.map((f) => f.scheduled))) {
        const inWindow = fs.filter((f) => f.scheduled > t - DAY && f.scheduled <= t)
        const r = results.get(windowId(origin, { start: t - DAY + 1, end: t + 1 }))
        expect(r?.value.n).toBe(inWindow.length)
        expect(r?.value.meanDelay).toBeCloseTo(inWindow.reduce((s, f) => s + f.delay, 0) / inWindow.length, 9)
        checked++
      }
    expect(results.size).toBe(checked)
  })
})
