/**
 * Results as an aligned text table for a terminal: the pure core of `show` and `weir run --format
 * table`. Rows are flattened into dotted columns (`window.start`, `value.n`), keys first, then window
 * bounds (as ISO times), then the rest in the order first seen.
 */

/** Options of `formatTable`. */
export interface TableOptions {
  /** The widest line, in characters (default 100): wide cells are cut with `…`, and columns that still do not fit are left out and named. */
  readonly width?: number
  /** The most rows shown (default 20); the others are counted below the table. */
  readonly maxRows?: number
  /**
   * More columns (dotted names) holding epoch-millisecond times, shown as ISO times. Window bounds
   * always are, and so is a column named like a time (`date`, `scheduled`, `*At`, `*Time`...) whose
   * values are all whole epoch milliseconds between 1973 and 2286.
   */
  readonly times?: readonly string[]
  /** How many rows there were in all, when `rows` holds only the first ones (the count under the table says so). */
  readonly total?: number
}

/** Names of columns shown as times when every value in them is a whole number of epoch ms in 1973–2286. */
const TIME_NAME = /(^|\.)(start|end|time|date|at|ts|timestamp|scheduled|arrival|watermark)$|Time$|At$|Date$/

const isEpochMillis = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1e11 && v < 1e13

/** Columns shown as times whatever their name says. */
const WINDOW_TIMES = ['window.start', 'window.end']
/** The narrowest a cut column gets. */
const MIN_COLUMN = 8
/** A header longer than this may be cut. */
const MAX_KEPT_HEADER = 16
const GAP = '  '

/**
 * An aligned table of `rows`: a header, a rule, one line per row, numbers right-aligned with as
 * many decimals as the column needs (at most 3), text left-aligned, window bounds as ISO times, and
 * under it the rows and columns left out.
 *
 * @example
 * formatTable([{ key: 'ORD', window: { start: 978307200000, end: 978912000000 }, value: { n: 1290 } }])
 * // key  window.start       window.end            value.n
 * // ───  ─────────────────  ─────────────────  ─────────
 * // ORD  2001-01-01T00:00Z  2001-01-08T00:00Z       1290
 */
export function formatTable(rows: readonly unknown[], options: TableOptions = {}): string {
  const width = Math.max(options.width ?? 100, 20)
  const maxRows = options.maxRows ?? 20
  const total = options.total ?? rows.length
  if (total === 0) return '(no rows)'
  if (rows.length === 0) return `(${count(total)} row${total === 1 ? '' : 's'}, none kept to show)`
  const shown = rows.slice(0, maxRows)
  const columns = tabulate(shown, options.times)
  const kept = fitColumns(columns, width)
  const lines = [
    kept.map((c) => pad(c.name, c.width, c.numeric)).join(GAP).trimEnd(),
    kept.map((c) => '─'.repeat(c.width)).join(GAP),
    ...shown.map((_, i) => kept.map((c) => pad(c.cells[i], c.width, c.numeric)).join(GAP).trimEnd()),
  ]
  const left = columns.length - kept.length
  if (left > 0) lines.push(`… ${left} more column${left === 1 ? '' : 's'} not shown: ${columns.slice(kept.length).map((c) => c.name).join(', ')}`)
  if (total > shown.length) lines.push(`… ${count(total - shown.length)} more row${total - shown.length === 1 ? '' : 's'} (${count(total)} in all)`)
  return lines.join('\n')
}

/** One column of a table: its dotted name, each row's cell as text, and whether it holds numbers (right-aligned). */
export interface Column {
  readonly name: string
  readonly cells: string[]
  readonly numeric: boolean
  width: number
}

/**
 * The columns of `rows` in display order (keys, window bounds, the rest), each cell as text: what
 * `formatTable` lays out, and what the HTML report puts in its tables.
 */
export function tabulate(rows: readonly unknown[], times: readonly string[] = []): Column[] {
  const flat = rows.map(flatRow)
  const timeColumns = new Set([...WINDOW_TIMES, ...times])
  return columnOrder(flat).map((name) => column(name, flat, timeColumns))
}

/** A row as dotted column names to values; a value that is not a plain object is one column, `value`. */
export function flatRow(row: unknown): Map<string, unknown> {
  const into = new Map<string, unknown>()
  flatten(row, '', into)
  return into
}

function flatten(v: unknown, prefix: string, into: Map<string, unknown>): void {
  if (!isPlainObject(v) || (prefix !== '' && Object.keys(v).length === 0)) {
    into.set(prefix === '' ? 'value' : prefix, v)
    return
  }
  for (const k of Object.keys(v)) {
    const name = prefix === '' ? k : `${prefix}.${k}`
    if (isPlainObject(v[k])) flatten(v[k], name, into)
    else into.set(name, v[k])
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Keys first (what a result is about), then window bounds, then the rest as first seen. */
function columnOrder(rows: readonly Map<string, unknown>[]): string[] {
  const seen: string[] = []
  const known = new Set<string>()
  for (const r of rows)
    for (const name of r.keys())
      if (!known.has(name)) {
        known.add(name)
        seen.push(name)
      }
  const rank = (name: string): number =>
    name === 'key' || name.startsWith('key.') ? 0 : name === 'window.start' ? 1 : name === 'window.end' ? 2 : name.startsWith('window.') ? 3 : 4
  return seen.map((name, i) => ({ name, i })).sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i).map((c) => c.name)
}

function column(name: string, rows: readonly Map<string, unknown>[], times: ReadonlySet<string>): Column {
  const values = rows.map((r) => r.get(name))
  const isTime = times.has(name) || (TIME_NAME.test(name) && values.every((v) => v === undefined || v === null || isEpochMillis(v)))
  const numeric = !isTime && values.every((v) => v === undefined || v === null || typeof v === 'number' || typeof v === 'bigint')
  const decimals = numeric ? Math.max(0, ...values.map(decimalsOf)) : 0
  const cells = values.map((v) => (isTime && typeof v === 'number' ? isoTime(v) : numeric && typeof v === 'number' ? formatNumber(v, decimals) : cellText(v)))
  return { name, cells, numeric, width: Math.max(name.length, ...cells.map((c) => c.length)) }
}

/**
 * Cuts the widest columns down, but not below their header (up to `MAX_KEPT_HEADER` characters) or
 * `MIN_COLUMN`, and then leaves out the last columns until the table fits: a column whose name is
 * cut off says nothing.
 */
function fitColumns(columns: Column[], width: number): Column[] {
  const total = (cs: readonly Column[]) => cs.reduce((s, c) => s + c.width, 0) + GAP.length * Math.max(0, cs.length - 1)
  // A number cut short would read as another number: numeric columns are left out whole instead.
  const floor = (c: Column) => (c.numeric ? c.width : Math.min(c.width, Math.max(MIN_COLUMN, Math.min(c.name.length, MAX_KEPT_HEADER))))
  for (let over = total(columns) - width; over > 0; over = total(columns) - width) {
    const cuttable = columns.filter((c) => c.width > floor(c))
    if (cuttable.length === 0) break
    const widest = cuttable.reduce((a, b) => (b.width > a.width ? b : a))
    widest.width = Math.max(floor(widest), widest.width - over)
  }
  const kept = [...columns]
  // The note naming the columns left out takes a line of its own, so the table itself must fit.
  while (kept.length > 1 && total(kept) > width) kept.pop()
  return kept
}

const pad = (text: string, width: number, right: boolean): string => {
  const cut = text.length > width ? text.slice(0, width - 1) + '…' : text
  return right ? cut.padStart(width) : cut.padEnd(width)
}

const decimalsOf = (v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || Number.isInteger(v)) return 0
  const text = v.toFixed(3).replace(/0+$/, '')
  return Math.min(3, text.length - text.indexOf('.') - 1)
}

/** A number with `decimals` places, so a column's decimal points line up. */
const formatNumber = (v: number, decimals: number): string => (Number.isFinite(v) ? v.toFixed(decimals) : String(v))

/** One cell's text: strings as they are on one line, other values as JSON, nothing for null. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return oneLine(v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (v instanceof Date) return v.toISOString()
  try {
    return oneLine(JSON.stringify(v) ?? String(v))
  } catch {
    return Object.prototype.toString.call(v)
  }
}

// Control characters would break the table's lines or drive the terminal.
const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '⏎' : '�'))

/**
 * An epoch-millisecond time as a short ISO 8601 time in UTC: seconds and milliseconds only when
 * they are not zero (`2001-01-01T00:00Z`, `2001-01-01T00:00:30.250Z`); infinities as `-∞` / `+∞`.
 *
 * @example
 * isoTime(978307200000) // '2001-01-01T00:00Z'
 */
export function isoTime(t: number): string {
  if (t === Number.POSITIVE_INFINITY) return '+∞'
  if (t === Number.NEGATIVE_INFINITY) return '-∞'
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) return String(t)
  return new Date(t).toISOString().replace(/\.000Z$/, 'Z').replace(/T(\d\d:\d\d):00Z$/, 'T$1Z')
}

const count = (n: number): string => n.toLocaleString('en-US')
