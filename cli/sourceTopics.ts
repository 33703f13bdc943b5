import { UsageError } from './args.ts'

/**
 * `--from` of `weir run --redis` for a pipeline with several named sources: `name=topic` pairs,
 * comma-separated (a topic may be a glob), one for every source and for nothing else. Undefined
 * for a one-source pipeline, whose `--from` is topics; a pair there is a usage mistake.
 *
 * @example
 * sourceTopicsOf('clicks=web-clicks,searches=web-searches', new Set(['clicks', 'searches']))
 * // { clicks: 'web-clicks', searches: 'web-searches' }
 */
export function sourceTopicsOf(from: string, names: ReadonlySet<string> | undefined): Readonly<Record<string, string>> | undefined {
  if (names === undefined) {
    if (from.includes('=')) throw new UsageError(`--from ${from} maps sources to topics, but this pipeline reads one source: give its topics (--from a,b)`)
    return undefined
  }
  const list = [...names].join(', ')
  const topics: Record<string, string> = {}
  for (const pair of from.split(',')) {
    const at = pair.indexOf('=')
    const name = pair.slice(0, at)
    const topic = pair.slice(at + 1)
    if (at < 0 || name === '' || topic === '')
      throw new UsageError(`--from ${from}: this pipeline reads several sources (${list}); map each to its topic: --from ${[...names].map((n) => `${n}=<topic>`).join(',')}`)
    if (!names.has(name)) throw new UsageError(`--from ${from}: '${name}' names no source of this pipeline (its sources: ${list})`)
    if (name in topics) throw new UsageError(`--from ${from}: source '${name}' is given twice`)
    topics[name] = topic
  }
  const missing = [...names].filter((n) => !(n in topics))
  if (missing.length > 0) throw new UsageError(`--from ${from}: no topic for source '${missing[0]}' (its sources: ${list})`)
  return topics
}
