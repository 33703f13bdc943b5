import { describe, expect, it } from 'vitest'
import { replay, VirtualClock } from 'weirjs'
import { flightOrigins } from './flightAirportsTwoSources.ts'
import { flightOrigins as oneSource, flightsAndAirports } from './flightAirportsAsOf.ts'

describe('examples/flightAirportsTwoSources', () => {
  it('names every flight\'s origin as of its scheduled time, as the one-source version does', async () => {
    const log = await flightsAndAirports()
    const { out, late, deadLetters } = await replay(flightOrigins, log)
    expect(late).toEqual([])
    expect(deadLetters).toEqual([])
    const expected = (await replay(oneSource(), log)).out
    expect(out).toHaveLength(20_000)
    expect(new Map(out.map((f) => [f.id, f]))).toEqual(new Map(expected.map((f) => [f.id, f])))
  })

  it('lets the idle changelog stop holding flights back: most come out long before the end of the log', async () => {
    const log = await flightsAndAirports()
    const end = log[log.length - 1].arrival
    const clock = new VirtualClock(0)
    const at: number[] = []
    await replay(flightOrigins, log, { clock, onOutput: () => at.push(clock.now()) })
    expect(at.filter((t) => t < end).length).toBeGreaterThan(19_000)
  })
})
