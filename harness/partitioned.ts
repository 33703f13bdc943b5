import { Observable, type Subscriber, type Subscription } from 'rxjs'
import type { Data } from '../dsl/element.ts'
import type { Pipeline } from '../dsl/pipeline.ts'
import type { Key, Node } from '../dsl/stream.ts'
import { isStateless } from '../dsl/plan.ts'
import { compileElements } from '../dsl/compile.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import { ownerOf, partitionOf } from '../connectors/partition.ts'
import { VirtualClock } from './VirtualClock.ts'
import { isDeadLetter, readLog, type LogRecord, type LogSource } from './log.ts'
import { Collector, type RunResult } from './result.ts'
import type { RunContext } from '../operators/core/context.ts'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'

/** A consumer group of a partitioned replay: its name and its members' names. */
export interface GroupSpec {
  readonly name: string
  readonly members: readonly string[]
}

/** A member that dies at a point of processing time (the virtual clock), losing its state. */
export interface MemberFailure {
  readonly group: string
  readonly member: string
  /** The member dies just before the first record arriving at or after this time. */
  readonly at: number
}

/** Options of `replayPartitioned`. */
export interface PartitionedOptions {
  /** Number of partitions of the topic. */
  readonly partitions: number
  /** The routing key of a raw source event: the record goes to partition `partitionOf(key, partitions)`. */
  readonly key: (event: unknown) => Key
  /** The consumer groups; each sees every record. */
  readonly groups: readonly GroupSpec[]
  readonly failures?: readonly MemberFailure[]
  /** Replay only this topic's records. */
  readonly topic?: string
}

/** What one member did: its results and the partitions it owned at the end (none if it died). */
export interface MemberResult<O> extends RunResult<O> {
  readonly partitions: readonly number[]
  readonly died: boolean
}

/** What one group produced: every member's outputs in emission order, and each member's results. */
export interface GroupResult<O> {
  readonly out: O[]
  readonly members: Readonly<Record<string, MemberResult<O>>>
  /** Records delivered a second time because the member holding them died unacknowledged. */
  readonly redelivered: number
}

interface Member<O> {
  readonly name: string
  readonly collector: Collector<O>
  readonly ctx: RunContext
  readonly subscription: Subscription
  readonly input: Subscriber<Data<unknown>>
  /** Delivered, not yet acknowledged (stateful pipelines hold records until the end of the run), with their partitions. */
  readonly pending: { readonly r: LogRecord; readonly part: number }[]
  alive: boolean
}

/** True when the pipeline holds no events between records, as `run` decides for acknowledgements. */
const stateless = (n: Node): boolean =>
  n._tag === 'Source' || (isStateless(n) ? stateless(n.input) : n._tag === 'Merge' ? n.inputs.every(stateless) : false)

/**
 * Replays a log through a pipeline run as consumer groups over a partitioned topic, in virtual
 * time: the broker semantics of the Redis connectors without a server, deterministic and fast.
 *
 * - Each record goes to partition `partitionOf(key(event), partitions)`.
 * - Every group sees every record (fan-out). Within a group, partitions are owned as `ownerOf`
 *   says (the rule of `redisSource` with `assignment: 'partitions'`), so each key is handled by
 *   exactly one member at a time, and a failure moves only the dead member's partitions.
 * - Each member runs its own instance of the pipeline on one shared `VirtualClock`.
 * - Acknowledgement follows `run`'s rule: a stateless pipeline acknowledges a record once its
 *   outputs are emitted; a stateful one holds records until the end of input.
 * - A failure kills a member at a point of processing time: its state is lost, its outputs so far
 *   stay (as in a real sink), its partitions are rebalanced over the survivors, and its
 *   unacknowledged records are redelivered, in log order, to their partitions' new owners, before
 *   any later record. Nothing is lost; a record may be processed twice (at-least-once), which an
 *   idempotent sink absorbs. A redelivered record is judged against its new owner's watermark:
 *   if that member's events have moved further ahead than the watermark bound, the record is late
 *   there and goes to that member's `late` (as it would with a real broker and one watermark per
 *   member), not into its window.
 * - A malformed line, and a record whose routing `key` throws, go to the dead letters of the member
 *   owning partition 0 in every group: they have no partition of their own.
 * - Async stages take no virtual time, as in `replay`.
 *
 * @example
 * const r = await replayPartitioned(counts, log, { partitions: 4, key: (e) => (e as Flight).origin,
 *   groups: [{ name: 'g', members: ['a', 'b'] }], failures: [{ group: 'g', member: 'b', at: t }] })
 * r.g.out // every window result, possibly some twice
 */
export async function replayPartitioned<I, O, K>(
  p: Pipeline<I, O, K>,
  log: LogSource,
  o: PartitionedOptions,
): Promise<Record<string, GroupResult<O>>> {
  if (!Number.isInteger(o.partitions) || o.partitions < 1)
    throw new TypeError(`replayPartitioned: partitions must be a positive integer, got ${o.partitions}`)
  for (const g of o.groups)
    if (g.members.length === 0 || new Set(g.members).size !== g.members.length)
      throw new TypeError(`replayPartitioned: group '${g.name}' needs one or more distinctly named members`)
  const ackAtOnce = stateless(p.output.node)
  let clock: VirtualClock | undefined
  const failures = [...(o.failures ?? [])].sort((a, b) => a.at - b.at)
  let nextFailure = 0

  interface GroupState {
    readonly spec: GroupSpec
    readonly out: O[]
    readonly members: Map<string, Member<O>>
    owners: Member<O>[]
    redelivered: number
  }
  const groups: GroupState[] = []

  const startMember = (g: { out: O[] }, name: string): Member<O> => {
    const collector = new Collector<O>({ onOutput: (v) => g.out.push(v) })
    const ctx = collector.context({ scheduler: clock })
    let input!: Subscriber<Data<unknown>>
    const subscription = new Observable<Data<unknown>>((s) => {
      input = s
    })
      .pipe(compileElements(p, ctx))
      .subscribe(collector)
    return { name, collector, ctx, subscription, input, pending: [], alive: true }
  }
  const assign = (g: GroupState) => {
    const byName = (a: Member<O>, b: Member<O>) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    const all = [...g.members.values()].sort(byName)
    const live = all.filter((m) => m.alive)
    g.owners = Array.from({ length: o.partitions }, (_, i) => ownerOf(i, all, live, (m) => m.alive))
  }
  const slot = reusableRecord()
  const deliver = (g: GroupState, r: LogRecord, part: number) => {
    const m = g.owners[part]
    m.collector.eventsIn++
    m.input.next(slot.fill(r.event, r.arrival, r.offset))
    if (!ackAtOnce) m.pending.push({ r, part })
  }
  /** A dead letter with no partition of its own: the member owning partition 0 reports it. */
  const reject = (g: GroupState, d: DeadLetter) => {
    const m = g.owners[0]
    m.collector.eventsIn++
    m.collector.deadLetter(d)
  }
  const start = (at: number) => {
    clock = new VirtualClock(at)
    for (const spec of o.groups) {
      const g: GroupState = { spec, out: [], members: new Map(), owners: [], redelivered: 0 }
      for (const name of spec.members) g.members.set(name, startMember(g, name))
      assign(g)
      groups.push(g)
    }
    for (const d of early.splice(0)) for (const g of groups) reject(g, d)
  }
  /** Dead letters read before the first record, which starts the clock and the members. */
  const early: DeadLetter[] = []
  const members = () => groups.flatMap((g) => [...g.members.values()].filter((m) => m.alive))
  /** Some member's async stages are still working. Checked per record: no array, no promise. */
  const busy = () => {
    for (const g of groups) for (const m of g.members.values()) if (m.alive && m.ctx.credit.outstanding > 0) return true
    return false
  }
  /** What every member's async stages started has landed (they take no virtual time). */
  const settleAsync = async () => {
    for (const m of members()) if (m.ctx.credit.outstanding > 0) await m.ctx.credit.drained()
  }
  const fail = (f: MemberFailure) => {
    const g = groups.find((x) => x.spec.name === f.group)
    const m = g?.members.get(f.member)
    if (g === undefined || m === undefined) throw new TypeError(`replayPartitioned: no member '${f.member}' in group '${f.group}'`)
    if (!m.alive) return
    m.alive = false
    m.subscription.unsubscribe()
    if (![...g.members.values()].some((x) => x.alive)) throw new Error(`replayPartitioned: every member of group '${f.group}' died`)
    assign(g)
    const redo = m.pending.splice(0)
    g.redelivered += redo.length
    for (const { r, part } of redo) deliver(g, r, part)
  }

  for await (const batch of readLog(log)) {
    for (const e of batch) {
      if (isDeadLetter(e)) {
        if (clock === undefined) early.push(e)
        else for (const g of groups) reject(g, e)
        continue
      }
      if (o.topic !== undefined && e.topic !== o.topic) continue
      if (clock === undefined) start(e.arrival)
      if (busy()) await settleAsync()
      clock!.advanceTo(e.arrival)
      while (nextFailure < failures.length && failures[nextFailure].at <= e.arrival) fail(failures[nextFailure++])
      let part: number
      try {
        part = partitionOf(o.key(e.event), o.partitions)
      } catch (err) {
        const d = deadLetter('user', 'key', e.offset, `the routing key threw: ${errorMessage(err)}`, e.event)
        for (const g of groups) reject(g, d)
        continue
      }
      for (const g of groups) deliver(g, e, part)
    }
  }
  // A log with no record still has its groups (and its dead letters), with nothing out.
  if (clock === undefined) start(0)
  for (const m of members()) m.input.complete()
  // As replay ends: timers in virtual time, async stages in real time, until every member is done.
  while (members().some((m) => !m.collector.settled)) {
    if (clock!.pending > 0) clock!.flush()
    else if (busy()) await settleAsync()
    else await new Promise((resolve) => setImmediate(resolve))
  }
  const result: Record<string, GroupResult<O>> = {}
  for (const g of groups) {
    const members: Record<string, MemberResult<O>> = {}
    for (const m of g.members.values()) {
      if (m.alive) m.subscription.unsubscribe()
      if (m.collector.failed) throw m.collector.failure
      members[m.name] = {
        ...m.collector.result(),
        partitions: m.alive ? g.owners.flatMap((owner, i) => (owner === m ? [i] : [])) : [],
        died: !m.alive,
      }
    }
    result[g.spec.name] = { out: g.out, members, redelivered: g.redelivered }
  }
  return result
}
