/**
 * What a line of a recorded log is, written from the log format's definition and sharing
 * no code with harness/log.ts, so that the laws and arbitraries of the kit do not inherit the
 * reader's bugs: a blank line is skipped; a line that is JSON of an object with a finite number
 * `arrival`, an `event`, an optional non-negative integer `offset` (default: the line number) and an
 * optional string `topic` (default `'default'`) is a record; anything else is malformed (a `'parse'`
 * dead letter at its line number).
 */

/** A log line as the format defines it. */
export type LineModel =
  | { readonly kind: 'blank' }
  | { readonly kind: 'malformed'; readonly line: number }
  | { readonly kind: 'record'; readonly offset: number; readonly arrival: number; readonly topic: string; readonly event: unknown }

const BOM = '\uFEFF'

/**
 * Classifies line `lineNo` (1-based) of a log. A byte-order mark opening the first line belongs to
 * the file, not to the record.
 *
 * @example
 * lineModel('{"arrival":5,"event":1}', 3) // { kind: 'record', offset: 3, arrival: 5, topic: 'default', event: 1 }
 */
export function lineModel(text: string, lineNo: number): LineModel {
  const line = lineNo === 1 && text.startsWith(BOM) ? text.slice(BOM.length) : text
  if (/^\s*$/.test(line)) return { kind: 'blank' }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { kind: 'malformed', line: lineNo }
  }
  if (value === null || typeof value !== 'object' || value instanceof Array) return { kind: 'malformed', line: lineNo }
  const fields = new Map(Object.entries(value))
  const arrival = fields.get('arrival')
  const offset = fields.get('offset')
  const topic = fields.get('topic')
  const isCount = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER
  const ok =
    typeof arrival === 'number' &&
    Math.abs(arrival) !== Infinity &&
    !Number.isNaN(arrival) &&
    fields.get('event') !== undefined &&
    (offset === undefined || isCount(offset)) &&
    (topic === undefined || typeof topic === 'string')
  if (!ok) return { kind: 'malformed', line: lineNo }
  return { kind: 'record', offset: (offset as number | undefined) ?? lineNo, arrival: arrival as number, topic: (topic as string | undefined) ?? 'default', event: fields.get('event') }
}

/** A record written as a log line, fields in the format's order; `offset` and `topic` left out when absent. */
export function lineOf(r: { readonly offset?: number; readonly arrival: number; readonly topic?: string; readonly event: unknown }): string {
  return JSON.stringify({ offset: r.offset, arrival: r.arrival, topic: r.topic, event: r.event })
}
