import { UsageError } from './args.ts'

/** `--max-dead-letters`: at most `count` dead letters, or at most `percent` of the records read. */
export type DeadLetterLimit = { readonly count: number } | { readonly percent: number }

/**
 * Reads `--max-dead-letters <n|p%>`; undefined when not given.
 *
 * @example
 * deadLetterLimitOf('10') // { count: 10 }
 * deadLetterLimitOf('0.5%') // { percent: 0.5 }
 */
export function deadLetterLimitOf(v: string | undefined): DeadLetterLimit | undefined {
  if (v === undefined) return undefined
  const percent = v.endsWith('%')
  const n = Number(percent ? v.slice(0, -1) : v)
  if (v.trim() === '' || v === '%' || !Number.isFinite(n) || n < 0 || (percent ? n > 100 : !Number.isInteger(n)))
    throw new UsageError(`--max-dead-letters must be a count (10) or a percentage of the records read (0.5%), got '${v}'`)
  return percent ? { percent: n } : { count: n }
}

/**
 * Why a run with `deadLetters` out of `records` records read fails, or undefined when it passes:
 * when every record was rejected at the source (`rejected`: not JSON, or failing the codec), the
 * input is not what the pipeline reads, whatever the limit; otherwise only above the limit.
 */
export function deadLetterFailure(
  o: { readonly records: number; readonly rejected: number; readonly deadLetters: number },
  limit: DeadLetterLimit | undefined,
): string | undefined {
  if (o.records > 0 && o.rejected >= o.records)
    return `every one of the ${n(o.records)} records read was a dead letter: is the input a log of what the pipeline reads?`
  if (limit === undefined) return undefined
  if ('count' in limit)
    return o.deadLetters > limit.count ? `${n(o.deadLetters)} dead letters, more than --max-dead-letters ${limit.count}` : undefined
  const share = o.records === 0 ? 0 : (100 * o.deadLetters) / o.records
  return share > limit.percent
    ? `${n(o.deadLetters)} dead letters in ${n(o.records)} records (${share.toFixed(2)}%), more than --max-dead-letters ${limit.percent}%`
    : undefined
}

const n = (x: number): string => x.toLocaleString('en-US')
