import { UsageError } from './usageError.ts'
import { importPeer } from './peers.ts'
import { errorMessage } from '../dsl/sides.ts'
import type { Source } from '../connectors/sources.ts'

/** `--postgres <url> --slot <name> [--publication <name>]`: where a `pg:<table>` source of `--from` reads. */
export interface PostgresFlags {
  readonly url: string
  /** The logical replication slot that keeps the source's position (created if missing). */
  readonly slot: string | undefined
  /** The publication naming the table (default: the slot's name; created if missing). */
  readonly publication: string | undefined
}

/** The flags `weir run --redis` takes for a source read from PostgreSQL. */
export const POSTGRES_FLAGS = { postgres: 'string', slot: 'string', publication: 'string' } as const

/** Reads `--postgres`, `--slot`, `--publication` from parsed flags; undefined without `--postgres`. */
export function postgresFlagsOf(flags: ReadonlyMap<string, string | true>, redis: boolean): PostgresFlags | undefined {
  const url = flags.get('postgres') as string | undefined
  if (url === undefined) {
    for (const f of ['slot', 'publication']) if (flags.has(f)) throw new UsageError(`--${f} needs --postgres <url> (a source mapped to a table: --from <source>=pg:<table>)`)
    return undefined
  }
  if (!redis) throw new UsageError('--postgres is for --redis runs whose --from maps a source to a table (--from <source>=pg:<table>); a --log run replays what the log recorded')
  return { url, slot: flags.get('slot') as string | undefined, publication: flags.get('publication') as string | undefined }
}

/** A source of the pipeline read from a table of the database, through a replication slot. */
export interface PgMapping {
  readonly source: string
  /** `schema.table` (`public.` when `--from` gave no schema). */
  readonly table: string
  readonly url: string
  readonly slot: string
  readonly publication: string
}

const PG = 'pg:'

/**
 * The source `--from` maps to a table of the database (`<source>=pg:<table>`), checked against the
 * other flags and the pipeline; undefined when none is. One per run (a slot has one reader); a
 * stateful pipeline (a table kept from the database) runs alone with `--checkpoint`, which holds the
 * table with the slot's and the topics' positions.
 *
 * @example
 * pgMappingOf('payments=pay,accounts=pg:accounts', { payments: 'pay', accounts: 'pg:accounts' }, { url: 'postgres://db', slot: 's', publication: undefined },
 *   { pipeline: 'audit', stateless: true, checkpoint: false })
 * // { source: 'accounts', table: 'public.accounts', url: 'postgres://db', slot: 's', publication: 's' }
 */
export function pgMappingOf(
  from: string,
  sourceTopics: Readonly<Record<string, string>> | undefined,
  flags: PostgresFlags | undefined,
  run: { readonly pipeline: string; readonly stateless: boolean; readonly checkpoint: boolean },
): PgMapping | undefined {
  if (sourceTopics === undefined) {
    if (from.split(',').some((t) => t.startsWith(PG)))
      throw new UsageError(`--from ${from}: pg:<table> is one source of a pipeline with several (--from <source>=pg:<table>,<source>=<topic>); this pipeline reads one source`)
    if (flags !== undefined) throw new UsageError('--postgres needs a source of the pipeline mapped to a table: --from <source>=pg:<table>')
    return undefined
  }
  const mapped = Object.entries(sourceTopics).filter(([, topic]) => topic.startsWith(PG))
  if (mapped.length === 0) {
    if (flags !== undefined) throw new UsageError(`--postgres needs a source of the pipeline mapped to a table: --from ${Object.keys(sourceTopics)[0]}=pg:<table>,...`)
    return undefined
  }
  const [source, topic] = mapped[0]
  const given = `--from ${source}=${topic}`
  if (mapped.length > 1) throw new UsageError(`--from ${from}: sources ${mapped.map(([n]) => `'${n}'`).join(' and ')} both read PostgreSQL; a run reads one table (a slot has one reader)`)
  const name = topic.slice(PG.length)
  if (!/^([A-Za-z_][\w$]*\.)?[A-Za-z_][\w$]*$/.test(name)) throw new UsageError(`${given}: '${name}' is not a table name (pg:<table> or pg:<schema>.<table>)`)
  if (flags === undefined) throw new UsageError(`${given} needs --postgres <url> and --slot <name> (the replication slot that keeps its position)`)
  if (flags.slot === undefined) throw new UsageError(`${given} needs --slot <name>: the replication slot that keeps its position (created if missing)`)
  // A group member owns partitions of topics; a slot's changes are one stream with one reader, so a
  // table kept in state runs in one process that checkpoints it (the slot's position with it).
  if (!run.stateless && !run.checkpoint)
    throw new UsageError(
      `${given}: a stateful pipeline reading PostgreSQL runs alone with --checkpoint <file> (${run.pipeline} keeps state): a slot's changes have one reader and are not partitioned among group members`,
    )
  return { source, table: name.includes('.') ? name : `public.${name}`, url: flags.url, slot: flags.slot, publication: flags.publication ?? flags.slot }
}

/**
 * Opens the mapped source: the publication (of the table alone) and the slot, created if missing,
 * then `pgChanges` over them, ending after `idleExitMs` without changes (when given). A server that
 * cannot be reached, a table that does not exist, or a publication of other tables is a usage
 * mistake, said in one line before anything is read. Says on `note` what it created: a slot starts
 * at the changes made after its creation.
 */
export async function openPgSource(
  m: PgMapping,
  o: { readonly idleExitMs: number | undefined; readonly signal: AbortSignal; readonly note: (line: string) => void },
): Promise<Source<unknown>> {
  const [{ pgChanges }, { clientConfig, createCdc, publishedTables, slotState }] = await importPeer(
    'pg',
    () => Promise.all([import('../connectors/postgres/cdc.ts'), import('../connectors/postgres/admin.ts')]),
    `--from ${m.source}=pg:<table>`,
  )
  const at = `--postgres ${m.url}`
  const config = clientConfig(m.url)
  let tables: readonly string[] | undefined
  let hasSlot: boolean
  try {
    tables = await publishedTables(config, m.publication)
    hasSlot = (await slotState(config, m.slot)) !== undefined
  } catch (e) {
    throw new UsageError(`cannot connect to ${at}: ${errorMessage(e)}`)
  }
  if (tables !== undefined && !(tables.length === 1 && tables[0] === m.table))
    throw new UsageError(
      `--publication ${m.publication} publishes ${tables.length === 0 ? 'no table' : tables.join(', ')}, not ${m.table} alone: give a publication of that table (a new name is created for it)`,
    )
  try {
    await createCdc(config, { slot: m.slot, publication: m.publication, tables: [m.table] })
  } catch (e) {
    throw new UsageError(`${at}: cannot read ${m.table} for source '${m.source}': ${errorMessage(e)}`)
  }
  if (tables === undefined) o.note(`weir: created publication ${m.publication} of ${m.table}`)
  if (!hasSlot) o.note(`weir: created replication slot ${m.slot}: source '${m.source}' gets the changes of ${m.table} made from now on`)
  return pgChanges({ connection: m.url, slot: m.slot, publication: m.publication, stopWhenIdleMs: o.idleExitMs, signal: o.signal })
}
