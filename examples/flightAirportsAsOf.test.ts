import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { replay } from 'weirjs'
import { flightOrigins, flightsAndAirports } from './flightAirportsAsOf.ts'
import { dataFile } from './data.ts'

const events = (name: string) =>
  readFileSync(dataFile(name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

describe('examples/flightAirportsAsOf', () => {
  it('names every flight\'s origin as the airports table stood at its scheduled time, checked against the raw files', async () => {
    const log = await flightsAndAirports()
    const { out, late, deadLetters } = await replay(flightOrigins(), log)
    expect(late).toEqual([])
    expect(deadLetters).toEqual([])
    expect(out).toHaveLength(20_000)
    // Brute force: the last version of the airport at or before the scheduled time.
    const base = new Map(events('airports.ndjson').map((r) => [r.event.iata, r.event.name as string]))
    const changes = events('airportChanges.ndjson').map((r) => r.event)
    const nameAt = (iata: string, t: number) => {
      let name = base.get(iata)
      for (const c of changes) if (c.iata === iata && c.validFrom <= t) name = c.op === 'upsert' ? c.airport.name : undefined
      return name
    }
    for (const f of out) expect(f.name, `flight ${f.id}`).toBe(nameAt(f.origin, f.scheduled))
    const las = out.filter((f) => f.origin === 'LAS')
    expect(new Set(las.map((f) => f.name))).toEqual(new Set(['McCarran International', 'Las Vegas McCarran International']))
    const closed = out.filter((f) => f.origin === 'STL' && f.name === undefined)
    expect(closed.length).toBeGreaterThan(0)
    for (const f of closed) expect(f.scheduled >= Date.parse('2001-02-14T16:00:00Z') && f.scheduled < Date.parse('2001-02-19T16:00:00Z')).toBe(true)
    // Results come out in event-time order.
    expect(out.map((f) => f.scheduled)).toEqual(out.map((f) => f.scheduled).sort((a, b) => a - b))
  })

  it('differs from tableJoin exactly for the flights scheduled before a change that left after it', async () => {
    const log = await flightsAndAirports()
    const asOfTime = new Map((await replay(flightOrigins('eventTime'), log)).out.map((f) => [f.id, f.name]))
    const asOfArrival = (await replay(flightOrigins('arrival'), log)).out
    const differ = asOfArrival.filter((f) => f.name !== asOfTime.get(f.id)).map((f) => f.id)
    const changes = events('airportChanges.ndjson').map((r) => r.event)
    const straddling = events('flights.ndjson')
      .filter((r) => changes.some((c) => c.iata === r.event.origin && r.event.scheduled < c.validFrom && c.validFrom <= r.arrival))
      .map((r) => r.event.id)
    expect(differ.length).toBeGreaterThan(0)
    expect(differ.sort((a, b) => a - b)).toEqual(straddling.sort((a, b) => a - b))
  })
})
