import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { replay } from 'weirjs'
import weeklyDelays, { BUSIEST, type AirportWeek } from './weeklyDelays.ts'
import { main } from '../cli/weir.ts'

const log = fileURLToPath(new URL('./data/flights.ndjson', import.meta.url))
const WEEK = 7 * 86_400_000
const MONDAY = 4 * 86_400_000

/** The same numbers computed straight from the raw log, with no streaming at all. */
function direct(): AirportWeek[] {
  const groups = new Map<string, { airport: string; start: number; n: number; sum: number }>()
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    const f = JSON.parse(line).event as { scheduled: number; delay: number; origin: string }
    if (!(BUSIEST as readonly string[]).includes(f.origin)) continue
    const start = Math.floor((f.scheduled - MONDAY) / WEEK) * WEEK + MONDAY
    const g = groups.get(`${f.origin}@${start}`) ?? { airport: f.origin, start, n: 0, sum: 0 }
    g.n++
    g.sum += f.delay
    groups.set(`${f.origin}@${start}`, g)
  }
  return [...groups.values()].map((g) => ({
    airport: g.airport,
    week: new Date(g.start).toISOString().slice(0, 10),
    flights: g.n,
    meanDelayMinutes: Math.round((g.sum / g.n) * 10) / 10,
  }))
}

const byAirportWeek = (a: AirportWeek, b: AirportWeek) => a.airport.localeCompare(b.airport) || a.week.localeCompare(b.week)

describe('examples/weeklyDelays (the main job)', () => {
  it('gives every airport-week of the raw log, on Mondays, with nothing late or dead', async () => {
    const { out, late, deadLetters } = await replay(weeklyDelays, log)
    expect(late).toEqual([])
    expect(deadLetters).toEqual([])
    expect([...out].sort(byAirportWeek)).toEqual(direct().sort(byAirportWeek))
    expect(out.every((w) => new Date(w.week).getUTCDay() === 1)).toBe(true)
  })

  it('runs from the CLI as `npm start` does, printing one line per airport-week and a summary', async () => {
    let stdout = ''
    let stderr = ''
    const code = await main(['run', 'examples/weeklyDelays.ts', '--log', 'examples/data/flights.ndjson'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {},
    })
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as AirportWeek)
    expect(lines.sort(byAirportWeek)).toEqual(direct().sort(byAirportWeek))
    expect(stderr).toMatch(/^weir: weeklyDelays: 20,000 events in, \d+ out, 0 dead letters, 0 late, [\d,]+ events\/s/)
  })
})
