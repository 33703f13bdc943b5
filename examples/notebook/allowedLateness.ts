/**
 * A notebook that compares two versions of a pipeline over the same log: departures per hour per
 * airport (examples/flightRates.ts) with no allowed lateness, and with 9 hours of it. `diff` replays
 * both and lists the hours whose count changed, each from the log offset where the versions part;
 * `report` writes the page of the second run (plan, outputs, watermark, late events).
 *
 * Run it: `npx tsx examples/notebook/allowedLateness.ts [directory for the report]`
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { diff, type WindowResult } from 'weirjs'
import { report, show } from 'weirjs/notebook'
import { dataFile } from '../data.ts'
import { departuresPerHour } from '../flightRates.ts'

const log = dataFile('flights.ndjson')
const d = await diff(departuresPerHour(0), departuresPerHour('9h'), log)
console.log(`${d.changed} airport-hours changed, ${d.added} added, ${d.removed} removed, ${d.same} the same`)
console.log(`late events: ${d.metrics.before.late} without allowed lateness, ${d.metrics.after.late} with 9 hours of it`)

const count = (r: unknown) => (r as WindowResult<string, number> | undefined)?.value
show(
  d.differences.map((x) => ({ at: x.at, kind: x.kind, hour: x.identity, before: count(x.before), after: count(x.after) })),
  { maxRows: 8 },
)

const page = join(process.argv[2] ?? '.', 'departuresPerHour.html')
writeFileSync(page, await report(departuresPerHour('9h'), log))
console.log(`wrote ${page}`)
