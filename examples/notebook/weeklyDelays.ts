/**
 * A notebook over the bundled flights (examples/data/flights.ndjson): the weekly departures and mean
 * delay of the five busiest airports (examples/weeklyDelays.ts), seen as a table and a chart in the
 * terminal, and the chart saved as a page that opens offline.
 *
 * Run it: `npx tsx examples/notebook/weeklyDelays.ts [directory for the chart]`
 */
import { join } from 'node:path'
import { replay } from 'weirjs'
import { chart, save, show } from 'weirjs/notebook'
import { dataFile } from '../data.ts'
import weeklyDelays from '../weeklyDelays.ts'

const result = await replay(weeklyDelays, dataFile('flights.ndjson'))
show(result, { maxRows: 10 })

const delays = chart(result.out, { x: 'week', y: 'meanDelayMinutes', color: 'airport', title: 'Mean departure delay per week (minutes)' })
show(delays)
console.log(`wrote ${await save(delays, join(process.argv[2] ?? '.', 'weeklyDelays.html'))}`)
