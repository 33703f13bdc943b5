/**
 * Charts of results: a Vega-Lite spec (the description, which `save` renders to SVG or HTML) and
 * the same chart drawn with Unicode in a terminal. Fields are dotted paths into the rows
 * (`window.start`, `value.n`), as Vega-Lite reads them.
 */
import { isoTime } from './table.ts'

/** The marks a chart can use. */
export type ChartMark = 'line' | 'bar' | 'point' | 'area'

/** What to plot: dotted field paths into the rows. */
export interface ChartOptions {
  /** The horizontal field; epoch-ms times (window bounds, fields named like times) are drawn as dates. */
  readonly x: string
  /** The vertical field, a number. */
  readonly y: string
  /** A field that splits the rows into series (one line or bar colour per value), e.g. `key`. */
  readonly color?: string
  /** `'line'` (default), `'bar'`, `'point'` or `'area'`. */
  readonly mark?: ChartMark
  readonly title?: string
  /** Size of the rendered chart in pixels (defaults 600 × 240). */
  readonly width?: number
  readonly height?: number
}

/** The kind of a field in Vega-Lite. */
export type FieldType = 'quantitative' | 'temporal' | 'nominal' | 'ordinal'

/** The subset of a Vega-Lite spec that `chart` builds: plain JSON, ready for Vega-Lite or `save`. */
export interface ChartSpec {
  readonly $schema: string
  readonly title?: string
  readonly width: number
  readonly height: number
  readonly data: { readonly values: readonly unknown[] }
  readonly mark: { readonly type: ChartMark; readonly tooltip: boolean; readonly point?: boolean }
  readonly encoding: {
    readonly x: { readonly field: string; readonly type: FieldType; readonly title: string }
    readonly y: { readonly field: string; readonly type: FieldType; readonly title: string }
    readonly color?: { readonly field: string; readonly type: FieldType; readonly title: string }
  }
}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

/**
 * A Vega-Lite spec plotting `rows`: `y` against `x`, one series per `color` value. The rows are
 * copied into the spec as JSON. Field types are inferred from the first rows: numbers on a field
 * named like a time (`window.start`, `scheduled`, `*At`, `*Time`, `date`) are temporal, other
 * numbers quantitative, ISO dates (`2001-01-01`) temporal, other text nominal (ordinal for a bar
 * chart's x); `y` is temporal or quantitative.
 *
 * @example
 * const spec = chart(out, { x: 'window.start', y: 'value.n', color: 'key' })
 * show(spec)                   // a Unicode chart in the terminal
 * await save(spec, 'n.svg')    // rendered offline by vega
 */
export function chart(rows: readonly unknown[], options: ChartOptions): ChartSpec {
  const mark = options.mark ?? 'line'
  if (!['line', 'bar', 'point', 'area'].includes(mark)) throw new TypeError(`chart: mark must be 'line', 'bar', 'point' or 'area', got '${String(mark)}'`)
  for (const f of ['x', 'y'] as const)
    if (typeof options[f] !== 'string' || options[f] === '') throw new TypeError(`chart: ${f} must name a field of the rows (a dotted path such as 'value.n')`)
  const values = JSON.parse(JSON.stringify(rows)) as unknown[]
  const xType = fieldType(values, options.x)
  const encoding = {
    x: { field: options.x, type: mark === 'bar' && xType === 'nominal' ? ('ordinal' as const) : xType, title: options.x },
    y: { field: options.y, type: fieldType(values, options.y) === 'temporal' ? ('temporal' as const) : ('quantitative' as const), title: options.y },
    ...(options.color === undefined ? {} : { color: { field: options.color, type: 'nominal' as const, title: options.color } }),
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(options.title === undefined ? {} : { title: options.title }),
    width: options.width ?? 600,
    height: options.height ?? 240,
    data: { values },
    mark: { type: mark, tooltip: true, ...(mark === 'line' ? { point: values.length <= 60 } : {}) },
    encoding,
  }
}

/** True for a value that looks like a spec `chart` built (what `show` draws as a chart). */
export const isChartSpec = (x: unknown): x is ChartSpec =>
  typeof x === 'object' && x !== null && typeof (x as ChartSpec).$schema === 'string' && (x as ChartSpec).$schema.includes('vega-lite') && 'encoding' in x

/** A date or time written in ISO 8601 (`2001-01-01`, `2001-01-01T05:00Z`). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

const TIME_NAME = /(^|\.)(start|end|time|date|at|ts|timestamp|scheduled|arrival|watermark)$|Time$|At$|Date$/i

function fieldType(values: readonly unknown[], field: string): FieldType {
  const sample = values.slice(0, 50).map((v) => fieldOf(v, field)).filter((v) => v !== undefined && v !== null)
  if (sample.length > 0 && sample.every((v) => typeof v === 'number')) return TIME_NAME.test(field) ? 'temporal' : 'quantitative'
  if (sample.length > 0 && sample.every((v) => typeof v === 'string' && ISO_DATE.test(v))) return 'temporal'
  return 'nominal'
}

/** The value at a dotted path, as Vega-Lite reads fields. */
export function fieldOf(row: unknown, path: string): unknown {
  let v: unknown = row
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** Options of `drawChart`. */
export interface DrawOptions {
  /** Characters across (default 72). */
  readonly width?: number
  /** Lines of plot (default 12); a bar chart draws at most this many bars. */
  readonly height?: number
}

/**
 * A chart as Unicode text for a terminal: a bar chart as horizontal bars, a line, area or point
 * chart with one series as a Braille plot with its y range and x range, and with several series
 * (`color`) as one sparkline per series.
 *
 * @example
 * console.log(drawChart(chart(out, { x: 'window.start', y: 'value.n' })))
 */
export function drawChart(spec: ChartSpec, options: DrawOptions = {}): string {
  const width = Math.max(options.width ?? 72, 24)
  const height = Math.max(options.height ?? 12, 2)
  const { x, y, color } = spec.encoding
  const points = spec.data.values
    .map((r) => ({ x: fieldOf(r, x.field), y: fieldOf(r, y.field), series: color === undefined ? '' : label(fieldOf(r, color.field)) }))
    .filter((p): p is { x: unknown; y: number; series: string } => typeof p.y === 'number' && Number.isFinite(p.y))
  const title = spec.title === undefined ? `${y.field} by ${x.field}${color ? ` per ${color.field}` : ''}` : spec.title
  if (points.length === 0) return `${title}\n(no points with a number in ${y.field})`
  const xText = (v: unknown) => (x.type === 'temporal' && typeof v === 'number' ? isoTime(v) : label(v))
  if (spec.mark.type === 'bar') return [title, ...bars(points, width, height, xText)].join('\n')
  const numericX = points.every((p) => typeof p.x === 'number')
  const xs = (p: { x: unknown }, i: number) => (numericX ? (p.x as number) : i)
  if (color !== undefined) {
    const series = groupBy(points, (p) => p.series)
    const names = [...series.keys()]
    const nameWidth = Math.min(16, Math.max(...names.map((n) => n.length)))
    const lines = [title]
    for (const name of names.slice(0, height)) {
      const s = series.get(name)!.map((p, i) => ({ x: xs(p, i), y: p.y })).sort((a, b) => a.x - b.x)
      const ys = s.map((p) => p.y)
      const range = `${short(Math.min(...ys))}–${short(Math.max(...ys))}`
      lines.push(`${name.slice(0, nameWidth).padEnd(nameWidth)} ${sparkline(ys, Math.max(8, width - nameWidth - range.length - 2))} ${range}`)
    }
    if (names.length > height) lines.push(`… ${names.length - height} more series`)
    return lines.join('\n')
  }
  const sorted = points.map((p, i) => ({ x: xs(p, i), y: p.y, raw: p.x })).sort((a, b) => a.x - b.x)
  return [title, ...braillePlot(sorted, width, height, spec.mark.type !== 'point'), xAxis(sorted, width, xText)].join('\n')
}

const BLOCKS = '▁▂▃▄▅▆▇█'

/**
 * A sparkline: one block character per column, the values averaged into `width` columns when there
 * are more, scaled from their minimum (▁) to their maximum (█).
 *
 * @example
 * sparkline([1, 2, 3, 4, 5, 6, 7, 8]) // '▁▂▃▄▅▆▇█'
 */
export function sparkline(values: readonly number[], width = values.length): string {
  const cols = buckets(values, Math.max(1, Math.min(width, values.length)))
  const lo = Math.min(...cols)
  const hi = Math.max(...cols)
  return cols.map((v) => BLOCKS[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (BLOCKS.length - 1))]).join('')
}

/** `values` averaged into `n` consecutive buckets. */
function buckets(values: readonly number[], n: number): number[] {
  const out: number[] = []
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * values.length) / n)
    const to = Math.max(from + 1, Math.floor(((b + 1) * values.length) / n))
    let s = 0
    for (let i = from; i < to; i++) s += values[i]
    out.push(s / (to - from))
  }
  return out
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

function bars(points: readonly { x: unknown; y: number; series: string }[], width: number, height: number, xText: (v: unknown) => string): string[] {
  const labels = points.map((p) => (p.series === '' ? xText(p.x) : `${xText(p.x)} ${p.series}`))
  const labelWidth = Math.min(24, Math.max(...labels.map((l) => l.length)))
  const shown = points.slice(0, height)
  const values = shown.map((p) => short(p.y))
  const valueWidth = Math.max(...values.map((v) => v.length))
  const room = Math.max(4, width - labelWidth - valueWidth - 2)
  const top = Math.max(...shown.map((p) => Math.abs(p.y)))
  const lines = shown.map((p, i) => {
    const eighths = top === 0 ? 0 : Math.round((Math.abs(p.y) / top) * room * 8)
    const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]
    const l = labels[i].length > labelWidth ? labels[i].slice(0, labelWidth - 1) + '…' : labels[i]
    return `${l.padEnd(labelWidth)} ${bar.padEnd(room)} ${values[i].padStart(valueWidth)}`
  })
  if (points.length > height) lines.push(`… ${points.length - height} more bars`)
  return lines
}

/** Braille cells hold 2 × 4 dots; bit of the dot at (column, row) in a cell. */
const DOT = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
]

function braillePlot(points: readonly { x: number; y: number }[], width: number, height: number, joined: boolean): string[] {
  const ys = points.map((p) => p.y)
  const lo = Math.min(...ys)
  const hi = Math.max(...ys)
  const axis = [short(hi), short(lo)]
  const axisWidth = Math.max(...axis.map((a) => a.length))
  const cols = width - axisWidth - 2
  const dotsX = cols * 2
  const dotsY = height * 4
  const x0 = points[0].x
  const x1 = points[points.length - 1].x
  const px = (x: number) => (x1 === x0 ? Math.floor(dotsX / 2) : Math.round(((x - x0) / (x1 - x0)) * (dotsX - 1)))
  const py = (y: number) => (hi === lo ? Math.floor(dotsY / 2) : dotsY - 1 - Math.round(((y - lo) / (hi - lo)) * (dotsY - 1)))
  const cells = new Uint8Array(cols * height)
  const dot = (x: number, y: number) => {
    cells[Math.floor(y / 4) * cols + Math.floor(x / 2)] |= DOT[x % 2][y % 4]
  }
  let prev: [number, number] | undefined
  for (const p of points) {
    const at: [number, number] = [px(p.x), py(p.y)]
    if (joined && prev !== undefined) segment(prev, at, dot)
    else dot(at[0], at[1])
    prev = at
  }
  const lines: string[] = []
  for (let r = 0; r < height; r++) {
    let row = ''
    for (let c = 0; c < cols; c++) row += String.fromCharCode(0x2800 + cells[r * cols + c])
    const tick = r === 0 ? axis[0] : r === height - 1 ? axis[1] : ''
    lines.push(`${tick.padStart(axisWidth)} ┤${row}`)
  }
  return lines
}

/** The dots of a straight line between two dots (Bresenham). */
function segment([x0, y0]: [number, number], [x1, y1]: [number, number], dot: (x: number, y: number) => void): void {
  const dx = Math.abs(x1 - x0)
  const dy = -Math.abs(y1 - y0)
  const sx = x0 < x1 ? 1 : -1
  const sy = y0 < y1 ? 1 : -1
  let err = dx + dy
  for (;;) {
    dot(x0, y0)
    if (x0 === x1 && y0 === y1) return
    const e2 = 2 * err
    if (e2 >= dy) {
      err += dy
      x0 += sx
    }
    if (e2 <= dx) {
      err += dx
      y0 += sy
    }
  }
}

function xAxis(points: readonly { raw: unknown }[], width: number, xText: (v: unknown) => string): string {
  const first = xText(points[0].raw)
  const last = xText(points[points.length - 1].raw)
  return `${first}${' '.repeat(Math.max(1, width - first.length - last.length))}${last}`
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const it of items) {
    const k = key(it)
    const list = m.get(k)
    if (list === undefined) m.set(k, [it])
    else list.push(it)
  }
  return m
}

const label = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v) ?? String(v))

/** A number in at most ~6 characters: 1234 → '1234', 12345.6 → '12.3k', 0.12345 → '0.123'. */
const short = (v: number): string => {
  const a = Math.abs(v)
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`
  return String(+v.toFixed(a >= 100 ? 0 : a >= 1 ? 2 : 3))
}
