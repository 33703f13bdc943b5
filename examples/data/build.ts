/**
 * Rebuilds the bundled logs in examples/data/ from the public data sets that the npm package
 * `vega-datasets` ships (BSD-3-Clause): `npx tsx examples/data/build.ts`. See examples/README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dataDir = join(here, '../../node_modules/vega-datasets/data')
const read = (f: string) => readFileSync(join(dataDir, f), 'utf8')

const csv = (text: string): Record<string, string>[] => {
  const [head, ...rows] = text.trim().split(/\r?\n/)
  const cols = head.split(',')
  return rows.map((r) => {
    const cells = r.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'))
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']))
  })
}

// US DOT on-time records, January–March 2001. Event time is the scheduled departure; the record
// "arrives" when the flight actually leaves (scheduled + delay), so late flights arrive out of order.
const utc = (s: string) => Date.parse(s.replace(/\//g, '-').replace(' ', 'T') + ':00Z')
const flights = (JSON.parse(read('flights-20k.json')) as { date: string; delay: number; distance: number; origin: string; destination: string }[])
  .map((f, i) => ({ id: i + 1, scheduled: utc(f.date), delay: f.delay, distance: f.distance, origin: f.origin, destination: f.destination }))
  .map((event) => ({ arrival: event.scheduled + Math.max(0, event.delay) * 60_000, topic: 'flights', event }))
  .sort((a, b) => a.arrival - b.arrival || a.event.id - b.event.id)
  .map((r, i) => JSON.stringify({ offset: i + 1, ...r }))
writeFileSync(join(here, 'flights.ndjson'), flights.join('\n') + '\n')

// FAA airports: the reference table for enrichment.
const airports = csv(read('airports.csv')).map((a, i) =>
  JSON.stringify({
    offset: i + 1,
    arrival: 0,
    topic: 'airports',
    event: { iata: a.iata, name: a.name, city: a.city, state: a.state, latitude: Number(a.latitude), longitude: Number(a.longitude) },
  }),
)
writeFileSync(join(here, 'airports.ndjson'), airports.join('\n') + '\n')

// Monthly closing prices of five stocks, 2000–2010; each month's price is known on its first day.
const stocks = csv(read('stocks.csv'))
  .map((s) => ({ symbol: s.symbol, date: Date.parse(s.date + ' UTC'), price: Number(s.price) }))
  .sort((a, b) => a.date - b.date || a.symbol.localeCompare(b.symbol))
  .map((event, i) => JSON.stringify({ offset: i + 1, arrival: event.date, topic: 'stocks', event }))
writeFileSync(join(here, 'stocks.ndjson'), stocks.join('\n') + '\n')

console.log(`flights ${flights.length}, airports ${airports.length}, stocks ${stocks.length}`)
