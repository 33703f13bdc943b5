import type { Pipeline } from '../dsl/pipeline.ts'
import type { LogSource } from '../harness/log.ts'
import { chart, fieldOf, type ChartSpec } from './chart.ts'
import { planDiagram } from './planDiagram.ts'
import { escapeHtml, toSVG } from './render.ts'
import { reportOf, type ReportData, type ReportOptions, type TimedOutput } from './reportData.ts'
import { cellText, flatRow, isoTime, isPlainObject, tabulate } from './table.ts'

/** Rows of outputs shown in the report's table. */
const TABLE_ROWS = 200
/** Series (keys) drawn per chart: the keys with the most outputs. */
const MAX_KEYS = 8
/** Value fields charted. */
const MAX_FIELDS = 4

/**
 * Replays `log` through `p` and renders one self-contained HTML page about the run: the plan as a
 * diagram, the outputs as a table and as charts over event time per key, the watermark and its lag
 * behind the largest event time over the replay, dead letters by reason and late events by stage
 * with samples, and read speed. The page works offline: charts are SVG drawn by vega and vega-lite
 * (optional peers; a `MissingRendererError` says so when they are missing), with no script and
 * nothing fetched.
 *
 * @example
 * writeFileSync('report.html', await report(weeklyDelays, 'examples/data/flights.ndjson'))
 */
export async function report<I, O, K>(p: Pipeline<I, O, K>, log: LogSource, options: ReportOptions & { readonly source?: string } = {}): Promise<string> {
  const data = await reportOf(p, log, options)
  return reportHtml(data, options.source ?? (typeof log === 'string' ? log : undefined))
}

/** A titled chart of the report. */
interface Figure {
  readonly spec: ChartSpec
  readonly note?: string
}

/** The report page for gathered data. */
export async function reportHtml(data: ReportData, source: string | undefined): Promise<string> {
  const { metrics: m } = data
  const outputs = outputFigures(data.outputs)
  const watermark = watermarkFigures(data)
  const sides = sideFigures(data)
  const throughput = throughputFigures(data)
  const render = async (figures: readonly Figure[]) =>
    (await Promise.all(figures.map(async (f) => `<figure class="chart">${await toSVG(f.spec)}${f.note ? `<figcaption>${escapeHtml(f.note)}</figcaption>` : ''}</figure>`))).join('\n')
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  const cards: [string, string][] = [
    ['events in', n(m.eventsIn)],
    ['outputs', n(m.eventsOut)],
    ['late', n(m.late)],
    ['dead letters', n(m.deadLetters)],
    ...(m.skipped > 0 ? [['skipped', n(m.skipped)] as [string, string]] : []),
    ['events/s', n(m.eventsPerSecond)],
    ['wall time', `${n(m.wallMs)} ms`],
  ]
  const outputNote =
    m.eventsOut > data.outputs.length ? `<p class="note">The first ${n(data.outputs.length)} of ${n(m.eventsOut)} outputs are charted.</p>` : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>weir report: ${escapeHtml(data.name)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>${escapeHtml(data.name)}</h1><p>Replayed ${source === undefined ? 'a log' : `<code>${escapeHtml(source)}</code>`} in virtual time.</p>
<dl class="cards">${cards.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl></header>
<section id="plan"><h2>Plan</h2><div class="scroll">${planDiagram(data.plan)}</div></section>
<section id="outputs"><h2>Outputs</h2>${outputNote}${outputs.length > 0 ? await render(outputs) : '<p class="note">No numeric output field to chart.</p>'}
${htmlTable(data.outputs.slice(0, TABLE_ROWS).map((o) => o.value), m.eventsOut)}</section>
<section id="watermark"><h2>Watermark</h2>${watermark.length > 0 ? await render(watermark) : '<p class="note">No finite watermark was emitted.</p>'}</section>
<section id="side-outputs"><h2>Late events and dead letters</h2>${sides.length > 0 ? await render(sides) : '<p class="note">None: every record was read and on time.</p>'}
${sampleTables(data)}</section>
<section id="throughput"><h2>Throughput</h2><p>${n(m.eventsIn)} records in ${n(m.wallMs)} ms: ${n(m.eventsPerSecond)} records/s.</p>${throughput.length > 0 ? await render(throughput) : ''}</section>
</body></html>
`
}

/** The outputs as chart rows: where each sits in event time, its key, its numeric fields. */
function outputFigures(outputs: readonly TimedOutput[]): Figure[] {
  const rows = outputs.map(asPoint).filter((r): r is Point => r !== undefined)
  if (rows.length === 0) return []
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.key, (counts.get(r.key) ?? 0) + 1)
  const keys = [...counts].sort((a, b) => b[1] - a[1]).map(([k]) => k)
  const shown = new Set(keys.slice(0, MAX_KEYS))
  const fields = [...new Set(rows.flatMap((r) => [...r.values.keys()]))].slice(0, MAX_FIELDS)
  const note = keys.length > MAX_KEYS ? `The ${MAX_KEYS} keys with the most outputs, of ${keys.length}.` : undefined
  const keyed = keys.length > 1 || keys[0] !== ''
  return fields
    .map((field) => {
      const points = rows
        .filter((r) => shown.has(r.key) && r.values.has(field))
        .map((r) => ({ time: r.time, key: r.key, [safe(field)]: r.values.get(field) }))
      return {
        spec: chart(points, { x: 'time', y: safe(field), ...(keyed ? { color: 'key' } : {}), title: `${field} over event time${keyed ? ' per key' : ''}`, width: 640, height: 220 }),
        note,
      }
    })
    .filter((f) => f.spec.data.values.length > 0)
}

interface Point {
  readonly time: number
  readonly key: string
  readonly values: Map<string, number>
}

/**
 * Where an output sits in event time: a window result (or an `updates` change holding one) at its
 * window's start, anything else at the largest event time read when it came out. Its key is its
 * `key` field, or else its first text field (an output mapped to `{ airport, flights }`).
 */
function asPoint(o: TimedOutput): Point | undefined {
  let v = o.value
  if (isPlainObject(v) && (v.op === 'upsert' || v.op === 'delete') && 'after' in v) {
    if (v.op !== 'upsert') return undefined
    v = v.after
  }
  const start = fieldOf(v, 'window.start')
  const time = typeof start === 'number' ? start : o.eventTime
  if (time === undefined || !Number.isFinite(time)) return undefined
  const values = new Map<string, number>()
  const body = isPlainObject(v) && 'window' in v && 'value' in v ? v.value : v
  for (const [name, x] of flatRow(body))
    if (typeof x === 'number' && Number.isFinite(x) && !IGNORED.test(name)) values.set(body === v ? name : name === 'value' ? 'value' : `value.${name}`, x)
  if (values.size === 0) return undefined
  const key = isPlainObject(v) ? cellText('key' in v ? v.key : Object.values(v).find((x) => typeof x === 'string')) : ''
  return { time, key, values }
}

/** Fields that are positions or times, not measures. */
const IGNORED = /(^|\.)(key|pos|offset|id|start|end|time|ts|at|arrival|window\..*)$|Time$|At$/

/** Vega-Lite reads dots in a field name as nesting. */
const safe = (field: string) => field.replaceAll('.', '_')

function watermarkFigures(data: ReportData): Figure[] {
  const points = data.watermarks
  if (points.length === 0) return []
  const series = points.flatMap((p) => [
    { records: p.records, series: 'watermark', time: p.watermark },
    ...(p.maxEventTime === undefined ? [] : [{ records: p.records, series: 'largest event time', time: p.maxEventTime }]),
  ])
  const figures: Figure[] = [{ spec: chart(series, { x: 'records', y: 'time', color: 'series', title: 'Watermark and largest event time, by records read', width: 640, height: 220 }) }]
  const lags = points.filter((p) => p.maxEventTime !== undefined).map((p) => ({ records: p.records, lagSeconds: (p.maxEventTime! - p.watermark) / 1000 }))
  if (lags.length > 0) {
    const worst = Math.max(...lags.map((l) => l.lagSeconds))
    figures.push({
      spec: chart(lags, { x: 'records', y: 'lagSeconds', mark: 'area', title: 'Watermark lag behind the largest event time (seconds)', width: 640, height: 160 }),
      note: `Largest lag: ${formatSeconds(worst)}.`,
    })
  }
  return figures
}

function sideFigures(data: ReportData): Figure[] {
  const bars = (counts: ReadonlyMap<string, number>, what: string, by: string): Figure[] =>
    counts.size === 0
      ? []
      : [{ spec: chart([...counts].map(([k, c]) => ({ [by]: k, count: c })), { x: by, y: 'count', mark: 'bar', title: `${what} by ${by}`, width: 320, height: 160 }) }]
  return [...bars(data.deadLettersByReason, 'Dead letters', 'reason'), ...bars(data.lateByStage, 'Late events', 'stage')]
}

function throughputFigures(data: ReportData): Figure[] {
  const t = data.throughput
  const rates: { wallSeconds: number; recordsPerSecond: number }[] = []
  for (let i = 1; i < t.length; i++) {
    const dt = t[i].wallMs - t[i - 1].wallMs
    if (dt > 0) rates.push({ wallSeconds: t[i].wallMs / 1000, recordsPerSecond: ((t[i].records - t[i - 1].records) * 1000) / dt })
  }
  return rates.length < 2 ? [] : [{ spec: chart(rates, { x: 'wallSeconds', y: 'recordsPerSecond', title: 'Records read per second of wall time', width: 640, height: 160 }) }]
}

/** Rows as an HTML table, as `formatTable` lays them out (keys first, window bounds as ISO times). */
function htmlTable(rows: readonly unknown[], total: number): string {
  if (rows.length === 0) return '<p class="note">No outputs.</p>'
  const columns = tabulate(rows)
  const head = columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.name)}</th>`).join('')
  const body = rows.map((_, i) => `<tr>${columns.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.cells[i])}</td>`).join('')}</tr>`).join('\n')
  const more = total > rows.length ? `<p class="note">The first ${rows.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} outputs.</p>` : ''
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>${more}`
}

function sampleTables(data: ReportData): string {
  const parts: string[] = []
  if (data.deadLetterSamples.length > 0)
    parts.push(
      `<h3>First dead letters</h3>${htmlTable(
        data.deadLetterSamples.map((d) => ({ pos: d.pos, stage: d.stage, reason: d.reason, message: d.message, input: clip(d.input) })),
        data.metrics.deadLetters,
      )}`,
    )
  if (data.lateSamples.length > 0)
    parts.push(
      `<h3>First late events</h3>${htmlTable(
        data.lateSamples.map((l) => ({ key: l.key, pos: l.pos, stage: l.stage, time: isoTime(l.time), watermark: isoTime(l.watermark), value: clip(l.value) })),
        data.metrics.late,
      )}`,
    )
  return parts.join('\n')
}

const clip = (v: unknown): string => {
  const text = cellText(v)
  return text.length > 200 ? `${text.slice(0, 199)}…` : text
}

const formatSeconds = (s: number): string =>
  s >= 3600 ? `${+(s / 3600).toFixed(1)} h` : s >= 60 ? `${+(s / 60).toFixed(1)} min` : `${+s.toFixed(3)} s`

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;margin:0 auto;max-width:1100px;padding:16px 24px;background:#fff}
h1{margin:8px 0 4px;font-size:24px}h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.cards div{background:#f4f6f9;border-radius:6px;padding:8px 14px;min-width:90px}
.cards dt{font-size:12px;color:#666}.cards dd{margin:0;font-size:18px;font-weight:600}
.scroll{overflow-x:auto}figure.chart{margin:12px 0;display:inline-block;vertical-align:top}figcaption,.note{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
th{background:#f4f6f9;position:sticky;top:0}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}`
