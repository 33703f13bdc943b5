/**
 * Standing queries over transient events: many `{ field: value, ... }` equality conditions (plus an
 * optional predicate), registered and removed while the stream runs, each event tested only against
 * the queries that can match it.
 */

/** A query's id, chosen by the caller. */
export type QueryId = string | number

/** What an equality condition compares with (`===`; a `NaN` condition is rejected, it could never match). */
export type Scalar = string | number | boolean | null

/**
 * A standing query: every `where` field must equal (`===`) the event's top-level field of that name,
 * and `predicate`, when given, must return true. A query with neither matches every event.
 */
export interface Query<T> {
  readonly where?: { readonly [F in keyof T]?: T[F] & Scalar }
  readonly predicate?: (event: T) => boolean
}

interface Entry {
  readonly id: QueryId
  readonly fields: readonly string[]
  readonly values: readonly Scalar[]
  /**
   * The conditions other than the anchor: the anchor's posting list already holds only events
   * with that value (Map keys compare like `===` once NaN is excluded), and skipping its string
   * comparison is most of the cost of a candidate.
   */
  readonly restFields: readonly string[]
  readonly restValues: readonly Scalar[]
  /** No other condition and no predicate: a hit without looking further (nor touching more memory). */
  readonly simple: boolean
  readonly predicate: ((event: any) => boolean) | undefined
  /** The condition the entry is filed under (undefined: no condition, checked for every event). */
  readonly anchor: string | undefined
  readonly anchorValue: Scalar
  /** Position in its posting list, for O(1) removal. */
  slot: number
}

const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'

/**
 * An index of standing queries. Each query is filed under one of its equality conditions: the one
 * on the field with the most distinct values among the registered conditions when it is added
 * (then the shortest posting list); an event looks up its own value
 * of each field some query is filed under and checks only the queries found there (all their
 * conditions, then the predicate), plus the queries without conditions. Adding and removing are
 * O(conditions); matching costs one map lookup per filed field plus the candidates found.
 *
 * The ids come back in a deterministic order (fixed by the history of adds and removes), not sorted.
 * A throwing predicate counts as no match and is reported through `onError`.
 *
 * @example
 * const idx = new QueryIndex<Trade>()
 * idx.add('big-ibm', { where: { symbol: 'IBM' }, predicate: (t) => t.qty > 1000 })
 * idx.match({ symbol: 'IBM', qty: 5000 }) // ['big-ibm']
 */
export class QueryIndex<T> {
  private readonly entries = new Map<QueryId, Entry>()
  private readonly byField = new Map<string, Map<Scalar, Entry[]>>()
  /** The fields some query is filed under (probed for every event). */
  private fields: string[] = []
  private readonly unconditioned: Entry[] = []
  /** How many registered conditions use each value of each field. */
  private readonly stats = new Map<string, Map<Scalar, number>>()

  /** Number of registered queries. */
  get size(): number {
    return this.entries.size
  }

  has(id: QueryId): boolean {
    return this.entries.has(id)
  }

  /** Registers a query under `id`, replacing any query registered under it before. */
  add(id: QueryId, query: Query<T>): void {
    if (typeof id !== 'string' && typeof id !== 'number') throw new TypeError(`QueryIndex.add: id must be a string or a number, got ${typeof id}`)
    const where = (query.where ?? {}) as Record<string, unknown>
    const fields = Object.keys(where)
    const values: Scalar[] = []
    for (const f of fields) {
      const v = where[f]
      if (!isScalar(v))
        throw new TypeError(`QueryIndex.add: query '${id}': where.${f} must be a string, number, boolean or null, got ${typeof v}`)
      if (Number.isNaN(v)) throw new TypeError(`QueryIndex.add: query '${id}': where.${f} is NaN, which equals nothing`)
      values.push(v)
    }
    if (query.predicate !== undefined && typeof query.predicate !== 'function')
      throw new TypeError(`QueryIndex.add: query '${id}': predicate must be a function`)
    this.remove(id)
    for (let i = 0; i < fields.length; i++) this.count(fields[i], values[i], 1)
    let anchor: string | undefined
    let anchorValue: Scalar = null
    let bestDistinct = -1
    let bestLen = Number.POSITIVE_INFINITY
    for (let i = 0; i < fields.length; i++) {
      // The field with the most distinct values in use is the likeliest to tell events apart (a
      // symbol beats a side); among equals, the shorter posting list.
      const distinct = this.stats.get(fields[i])!.size
      const len = this.byField.get(fields[i])?.get(values[i])?.length ?? 0
      if (distinct > bestDistinct || (distinct === bestDistinct && len < bestLen)) {
        bestDistinct = distinct
        bestLen = len
        anchor = fields[i]
        anchorValue = values[i]
      }
    }
    const rest = fields.flatMap((f, i) => (f === anchor ? [] : [i]))
    const entry: Entry = {
      id,
      fields,
      values,
      restFields: rest.map((i) => fields[i]),
      restValues: rest.map((i) => values[i]),
      simple: rest.length === 0 && query.predicate === undefined,
      predicate: query.predicate,
      anchor,
      anchorValue,
      slot: 0,
    }
    let list: Entry[]
    if (anchor === undefined) list = this.unconditioned
    else {
      let byValue = this.byField.get(anchor)
      if (byValue === undefined) {
        byValue = new Map()
        this.byField.set(anchor, byValue)
        this.fields.push(anchor)
      }
      list = byValue.get(anchorValue) ?? []
      if (list.length === 0) byValue.set(anchorValue, list)
    }
    entry.slot = list.length
    list.push(entry)
    this.entries.set(id, entry)
  }

  /** Unregisters a query; returns whether it was registered. */
  remove(id: QueryId): boolean {
    const entry = this.entries.get(id)
    if (entry === undefined) return false
    this.entries.delete(id)
    for (let i = 0; i < entry.fields.length; i++) this.count(entry.fields[i], entry.values[i], -1)
    const byValue = entry.anchor === undefined ? undefined : this.byField.get(entry.anchor)!
    const list = byValue === undefined ? this.unconditioned : byValue.get(entry.anchorValue)!
    const last = list.pop()!
    if (last !== entry) {
      list[entry.slot] = last
      last.slot = entry.slot
    }
    if (byValue !== undefined && list.length === 0) {
      byValue.delete(entry.anchorValue)
      if (byValue.size === 0) {
        this.byField.delete(entry.anchor!)
        this.fields = this.fields.filter((f) => f !== entry.anchor)
      }
    }
    return true
  }

  private count(field: string, value: Scalar, by: 1 | -1): void {
    let values = this.stats.get(field)
    if (values === undefined) this.stats.set(field, (values = new Map()))
    const n = (values.get(value) ?? 0) + by
    if (n === 0) {
      values.delete(value)
      if (values.size === 0) this.stats.delete(field)
    } else values.set(value, n)
  }

  /** The ids of the queries `event` matches (a new array). */
  match(event: T, onError?: (message: string) => void): QueryId[] {
    const out: QueryId[] = []
    const e = event as Record<string, unknown>
    const fields = this.fields
    for (let f = 0; f < fields.length; f++) {
      const v = e[fields[f]]
      if (!isScalar(v)) continue
      const list = this.byField.get(fields[f])!.get(v)
      if (list === undefined) continue
      for (let k = 0; k < list.length; k++) {
        const q = list[k]
        if (q.simple || this.check(q, e, onError)) out.push(q.id)
      }
    }
    const rest = this.unconditioned
    for (let k = 0; k < rest.length; k++) if (this.check(rest[k], e, onError)) out.push(rest[k].id)
    return out
  }

  private check(q: Entry, e: Record<string, unknown>, onError: ((message: string) => void) | undefined): boolean {
    const fields = q.restFields
    const values = q.restValues
    for (let i = 0; i < fields.length; i++) if (e[fields[i]] !== values[i]) return false
    if (q.predicate === undefined) return true
    try {
      return q.predicate(e) ? true : false
    } catch (err) {
      onError?.(`query '${q.id}': ${err instanceof Error ? err.message : String(err)}`)
      return false
    }
  }
}
