import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { replay } from 'weirjs'
import { enrichFlights, loadAirports } from './flightAirports.ts'
import { dataFile } from './data.ts'

const records = (name: string) =>
  readFileSync(dataFile(name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).event)

describe('examples/flightAirports', () => {
  it('enriches every recorded flight with its origin and destination airports', async () => {
    const airports = await loadAirports()
    expect(airports.size).toBe(3376)
    const { out, deadLetters, late } = await replay(enrichFlights(airports), dataFile('flights.ndjson'))
    expect(deadLetters).toEqual([])
    expect(late).toEqual([])
    expect(out).toHaveLength(20_000)
    expect(out.find((f) => f.id === 3)).toEqual({
      id: 3,
      scheduled: 978312240000,
      delay: -5,
      from: { iata: 'LAS', name: 'McCarran International', state: 'NV' },
      to: { iata: 'OAK', name: 'Metropolitan Oakland International', state: 'CA' },
      interstate: true,
    })
  })

  it('matches a join computed directly from the raw files, flight by flight', async () => {
    const byCode = new Map(records('airports.ndjson').map((a) => [a.iata, a]))
    const flights = records('flights.ndjson')
    const { out } = await replay(enrichFlights(await loadAirports()), dataFile('flights.ndjson'))
    expect(out.map((f) => f.id)).toEqual(flights.map((f) => f.id))
    out.forEach((f, i) => {
      const o = byCode.get(flights[i].origin)
      const d = byCode.get(flights[i].destination)
      expect([f.from.name, f.from.state, f.to.name, f.to.state]).toEqual([o.name, o.state, d.name, d.state])
    })
    expect(out.filter((f) => f.interstate).length).toBe(flights.filter((f) => byCode.get(f.origin).state !== byCode.get(f.destination).state).length)
  })
})
