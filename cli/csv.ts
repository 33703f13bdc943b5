import type { LineWriter } from './output.ts'

/** Writes output values as records of some format, over a line writer. */
export interface RecordWriter {
  write(o: unknown): void
  /** Writes what is buffered and releases the file. */
  close(): void
}

/**
 * `weir run --format csv`: outputs as RFC 4180 CSV. The columns are the first output's fields,
 * nested objects flattened with dotted names (`window.start`), in a header row; an array or other
 * non-plain value is one cell holding its JSON, and an output that is not an object is one column,
 * `value`. A later output with a field the header lacks fails the run, naming it, instead of losing
 * the field; a field it lacks is an empty cell.
 *
 * @example
 * // {"key":"a","window":{"start":0,"end":60000},"value":2}  ->  key,window.start,window.end,value
 * //                                                             a,0,60000,2
 */
export function csvWriter(lines: LineWriter): RecordWriter {
  let columns: Map<string, number> | undefined
  let written = 0
  return {
    write(o) {
      const fields = new Map<string, unknown>()
      flatten(o, '', fields)
      written++
      if (columns === undefined) {
        columns = new Map([...fields.keys()].map((name, i) => [name, i]))
        lines.line([...fields.keys()].map(cell).join(','))
      }
      const cells: string[] = new Array<string>(columns.size).fill('')
      for (const [name, v] of fields) {
        const i = columns.get(name)
        if (i === undefined)
          throw new Error(`--format csv: output ${written} has a field '${name}' that the first output, whose fields are the columns, has not (use --format ndjson)`)
        cells[i] = cell(v)
      }
      lines.line(cells.join(','))
    },
    close: () => lines.close(),
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function flatten(v: unknown, prefix: string, into: Map<string, unknown>): void {
  if (!isPlainObject(v)) {
    into.set(prefix === '' ? 'value' : prefix, v)
    return
  }
  for (const k in v) {
    const name = prefix === '' ? k : `${prefix}.${k}`
    if (isPlainObject(v[k])) flatten(v[k], name, into)
    else into.set(name, v[k])
  }
}

const cell = (v: unknown): string => {
  if (v === undefined || v === null) return ''
  const text =
    typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : v instanceof Date ? v.toISOString() : JSON.stringify(v)
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
