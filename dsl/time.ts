/** Milliseconds since the epoch (event time or processing time). */
export type Time = number

/** Unit suffixes accepted in duration strings. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

/** A duration: milliseconds as a number, or a string such as `'250ms'`, `'10s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${DurationUnit}`

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * `decimal` (digits, maybe a fraction) times `unit` ms, exactly: in floating point `1.1 * 3_600_000`
 * is 3960000.0000000005, which is not whole. NaN when the product is not a whole number of ms.
 */
const decimalMillis = (decimal: string, unit: number): number => {
  const [whole, fraction = ''] = decimal.split('.')
  const scale = 10n ** BigInt(fraction.length)
  const scaled = BigInt(whole + fraction) * BigInt(unit)
  return scaled % scale === 0n ? Number(scaled / scale) : Number.NaN
}

/**
 * Parses a duration to milliseconds, failing at definition time with a message naming the caller.
 *
 * @example
 * toMillis('5m', 'tumbling') // 300000
 */
export function toMillis(d: Duration, who: string, opts: { allowZero?: boolean } = {}): number {
  let ms: number
  if (typeof d === 'number') ms = d
  else {
    const m = PATTERN.exec(String(d).trim())
    ms = m ? decimalMillis(m[1], UNIT_MS[m[2] as DurationUnit]) : NaN
  }
  const ok = Number.isFinite(ms) && Number.isInteger(ms) && (opts.allowZero ? ms >= 0 : ms > 0)
  if (!ok) {
    const what = opts.allowZero ? 'a non-negative' : 'a positive'
    throw new TypeError(
      `${who}: expected ${what} whole-millisecond duration (a number of ms or a string like '250ms', '10s', '5m', '1h', '1d'), got ${JSON.stringify(d)}`,
    )
  }
  return ms
}

/**
 * Renders milliseconds as the largest whole unit, the inverse of `toMillis` for plans and messages.
 *
 * @example
 * formatDuration(32_400_000) // '9h'
 * formatDuration(90_000) // '90s'
 */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms !== 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  return `${ms}ms`
}

/**
 * An event time or watermark as people read it in messages: ISO 8601 in UTC, as times are epoch
 * milliseconds (`-Infinity`, `+Infinity` and times beyond what a Date holds as they are).
 *
 * @example
 * isoTime(978307200000) // '2001-01-01T00:00:00.000Z'
 */
export const isoTime = (t: number): string => (Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t))
