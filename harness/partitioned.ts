import type { Subscriber, Subscription } from 'rxjs'
import type { Data, SourceRecord } from '../dsl/element.ts'
import type { Pipeline } from '../dsl/pipeline.ts'
import type { Key } from '../dsl/stream.ts'
import { isStatelessPipeline } from '../dsl/plan.ts'
import { stateShapes, type StateShape } from '../dsl/fingerprint.ts'
import { reusableRecord } from '../operators/core/ingest.ts'
import type { Stateful } from '../operators/core/machine.ts'
import { openPipeline } from './open.ts'
import { assignPartitions, partitionOf } from '../connectors/partition.ts'
import { VirtualClock } from './VirtualClock.ts'
import { isDeadLetter, readLog, type LogRecord, type LogSource } from './log.ts'
import { Collector, type RunResult } from './result.ts'
import type { RunContext } from '../operators/core/context.ts'
import { deadLetter, errorMessage, type DeadLetter } from '../dsl/sides.ts'
import { routeTo } from '../dsl/sources.ts'
import type { Checkpoint } from './checkpoint.ts'
import { cutOf, restoreCut } from './cut.ts'
import { keyedOffPartition, RekeyedError } from './rekeyed.ts'

/** A consumer group of a partitioned replay: its name and the members it starts with. */
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

/**
 * A change of a group's membership at a point of processing time (just before the first record
 * arriving at or after `at`):
 * - `join`: the member starts (or starts again under its old name, after a `leave` or `die`; a
 *   member already there stays as it is);
 * - `leave`: it stops cleanly: checkpoints each of its partitions, then releases them;
 * - `die`: it stops at once, losing its state; its partitions move once its lease expires;
 * - `pause`: it stops reading until `until` (a SIGSTOP, a long GC pause) and keeps its state; paused
 *   past its lease, it loses its partitions, and every write it tries after `until` is fenced.
 */
export type MembershipChange =
  | { readonly kind: 'join' | 'leave' | 'die'; readonly group: string; readonly member: string; readonly at: number }
  | { readonly kind: 'pause'; readonly group: string; readonly member: string; readonly at: number; readonly until: number }

/** Options of `replayPartitioned`. */
export interface PartitionedOptions {
  /** Number of partitions of the topic. */
  readonly partitions: number
  /**
   * The routing key of a raw source event: the record goes to partition `partitionOf(key, partitions)`.
   * For a pipeline with several sources, one function for all, or one per source by name (each
   * topic partitioned by its own producer's key, e.g. `{ clicks: (c) => c.user, accounts: (c) => c.key }`).
   */
  readonly key: ((event: unknown) => Key) | Readonly<Record<string, (event: unknown) => Key>>
  /** The consumer groups (each sees every record), with the members they start with. */
  readonly groups: readonly GroupSpec[]
  /** Members that die (the same as `die` changes in `schedule`). */
  readonly failures?: readonly MemberFailure[]
  /** Members joining, leaving, dying and pausing, at points of processing time. */
  readonly schedule?: readonly MembershipChange[]
  /** How long a member's hold on its partitions outlives its last heartbeat, in ms of processing time (default 3000). */
  readonly leaseMs?: number
  /** Records of a partition between two of its checkpoints, for a stateful pipeline (default 100). */
  readonly checkpointEvery?: number
  /** Replay only this topic's records (a one-source pipeline; one with several routes by topic). */
  readonly topic?: string
}

/** What one member did: its results and the partitions it owned at the end (none if it is gone). */
export interface MemberResult<O> extends RunResult<O> {
  readonly partitions: readonly number[]
  /** It died (and did not join again). */
  readonly died: boolean
  /** Writes it tried after losing a partition's lease while paused (a checkpoint, its outputs), refused. */
  readonly fenced: number
}

/** What one group produced: every member's outputs in emission order, and each member's results. */
export interface GroupResult<O> {
  readonly out: O[]
  readonly members: Readonly<Record<string, MemberResult<O>>>
  /** Records delivered a second time: read after a partition's last checkpoint by a member that lost it. */
  readonly redelivered: number
  /** Records never acknowledged at the end (none, when every partition had a live owner to finish it). */
  readonly pending: number
  /** Partition checkpoints taken, handoffs among them. */
  readonly checkpoints: number
  /** Times a partition started at a member (at start, on a join, a leave, a lease expiry). */
  readonly takeovers: number
  /** Writes refused because their writer had lost the partition's lease (see `MemberResult.fenced`). */
  readonly fenced: number
}

/** One partition's pipeline instance at one member: its state and its watermark are the partition's. */
interface Task<O> {
  readonly part: number
  readonly owner: MemberState<O>
  /** The fencing token of the lease it was started under. */
  readonly token: number
  readonly ctx: RunContext
  readonly collector: Collector<O>
  readonly subscription: Subscription
  readonly input: Subscriber<SourceRecord>
  readonly machines: readonly Stateful[]
  /** Per source, the index in the partition's stream of that source of the next record to deliver. */
  readonly next: number[]
  sinceCheckpoint: number
  /** Outputs emitted (by timers) while its member was paused: written, or fenced, when it resumes. */
  readonly held: O[]
}

interface MemberState<O> {
  readonly name: string
  status: 'absent' | 'running' | 'paused' | 'dead' | 'left'
  /** In the group's member list: heartbeating, or silent for less than the lease. */
  listed: boolean
  /** Bumped at every change of status, so a lease expiry scheduled for an earlier one does nothing. */
  incarnation: number
  readonly tasks: Map<number, Task<O>>
  /** Its outputs, side outputs and counters, over every instance it ran. */
  readonly result: Collector<O>
  fenced: number
}

interface GroupState<O> {
  readonly spec: GroupSpec
  readonly out: O[]
  readonly members: Map<string, MemberState<O>>
  /** Each partition's streams, one per source: every record routed to it so far, in order. */
  readonly streams: Queued[][][]
  /** Each partition's latest checkpoint (its instance's cut, with each source's stream position). */
  readonly checkpoints: (Checkpoint | undefined)[]
  /** Each partition's lease: the member processing it and the fencing token it holds. */
  readonly leases: ({ readonly holder: string; readonly token: number } | undefined)[]
  /** Each partition's highest position ever delivered in each source's stream (to count redeliveries). */
  readonly delivered: number[][]
  redelivered: number
  checkpointsTaken: number
  takeovers: number
  fenced: number
}

/**
 * A record in a partition's stream of one source: its place in the log (a partition's instance
 * reads its sources' streams in that order, as a member reads records in their order of arrival)
 * and what goes in (routed to its source, for a pipeline with several).
 */
interface Queued {
  readonly seq: number
  readonly record: LogRecord
  readonly value: unknown
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Each source's routing key function, by the source's place in `names` (a one-source pipeline has one). */
function routingKeys(key: PartitionedOptions['key'], names: readonly string[] | undefined): ((event: unknown) => Key)[] {
  if (typeof key === 'function') return names === undefined ? [key] : names.map(() => key)
  if (names === undefined) throw new TypeError('replayPartitioned: key is one function for a one-source pipeline, not one per source')
  for (const n of Object.keys(key)) if (!names.includes(n)) throw new TypeError(`replayPartitioned: key '${n}' names no source of this pipeline (its sources: ${names.join(', ')})`)
  return names.map((n) => {
    const f = key[n]
    if (typeof f !== 'function') throw new TypeError(`replayPartitioned: no routing key for source '${n}'; give key: { ${names.map((x) => `${x}: (e) => ...`).join(', ')} }, or one function for all`)
    return f
  })
}

/**
 * Replays a log through a pipeline run as consumer groups over a partitioned topic, in virtual
 * time: the broker semantics of the Redis connectors without a server, deterministic and fast.
 *
 * - Each record goes to partition `partitionOf(key(event), partitions)`; every group sees every
 *   record (fan-out).
 * - A pipeline with several sources runs co-partitioned: each record goes to the source its
 *   `topic` names (a record of a topic no source reads is counted as skipped), and partition p of
 *   every source's topic goes to one instance, which reads them in log order. Its checkpoint holds
 *   each source's position (`offsets`); each source keeps its own watermark in the instance, as in
 *   one process.
 * - State belongs to a partition: each partition runs its own instance of the pipeline, with its
 *   own state and its own watermark (from its own events), at the member that owns it. A
 *   partition's checkpoint is its instance's cut and its stream position, taken every
 *   `checkpointEvery` records (every record for a stateless pipeline) and acknowledging what it
 *   covers.
 * - Owners follow `assignPartitions` over the group's listed members. On a change (`schedule`):
 *   a member giving a partition up while running checkpoints it, then releases its lease; the
 *   taker restores that checkpoint (state, watermark, position) and reads on from there, so the
 *   records after it are delivered again and applied once. A dead or paused member stays listed,
 *   and holds its leases, until `leaseMs` after it went silent; its partitions wait meanwhile. A
 *   paused member whose leases were taken finds every write fenced when it resumes: its instances
 *   are dropped, nothing of theirs reaches the output.
 * - So any schedule ends with the output of one member reading everything, on an idempotent sink
 *   (an upsert by key), and nothing pending, as long as some member is running at the end.
 * - A pipeline whose stateful stage is keyed by something other than the routing key would split a
 *   key's state over partitions: `replayPartitioned` refuses it (throws) at the first record whose
 *   stage key belongs to another partition (see docs/scale-out.md).
 * - A malformed line, and a record whose routing `key` throws, go to the dead letters of the owner
 *   of partition 0 (or the group's first member): they have no partition of their own.
 * - Async stages take no virtual time, as in `replay`.
 *
 * @example
 * const r = await replayPartitioned(counts, log, { partitions: 4, key: (e) => (e as Flight).origin,
 *   groups: [{ name: 'g', members: ['a', 'b'] }], schedule: [{ kind: 'die', group: 'g', member: 'b', at: t }] })
 * r.g.out // every window result, some possibly twice (after a takeover), each final one as in one process
 */
export async function replayPartitioned<I, O, K>(
  p: Pipeline<I, O, K>,
  log: LogSource,
  o: PartitionedOptions,
): Promise<Record<string, GroupResult<O>>> {
  const names = p.sources === undefined ? undefined : Object.keys(p.sources)
  if (names !== undefined && o.topic !== undefined)
    throw new TypeError(`replayPartitioned: topic is for a one-source pipeline; '${p.name}' reads several sources and routes each record by its topic`)
  const route = names === undefined ? undefined : new Set(names)
  const keys = routingKeys(o.key, names)
  /** Sources (streams per partition): one for a one-source pipeline. */
  const lanes = keys.length
  const n = o.partitions
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`replayPartitioned: partitions must be a positive integer, got ${n}`)
  const leaseMs = o.leaseMs ?? 3000
  if (!(leaseMs > 0)) throw new TypeError(`replayPartitioned: leaseMs must be a positive number of ms, got ${o.leaseMs}`)
  const every = isStatelessPipeline(p) ? 1 : (o.checkpointEvery ?? 100)
  if (!(Number.isSafeInteger(every) && every >= 1))
    throw new TypeError(`replayPartitioned: checkpointEvery must be a positive integer, got ${o.checkpointEvery}`)
  for (const g of o.groups)
    if (new Set(g.members).size !== g.members.length) throw new TypeError(`replayPartitioned: group '${g.name}' has a member named twice`)
  const changes: MembershipChange[] = [
    ...(o.failures ?? []).map((f) => ({ kind: 'die' as const, group: f.group, member: f.member, at: f.at })),
    ...(o.schedule ?? []),
  ]
  for (const c of changes) {
    if (!o.groups.some((g) => g.name === c.group)) throw new TypeError(`replayPartitioned: no group '${c.group}' for ${c.kind} of '${c.member}'`)
    if (c.kind === 'pause' && !(c.until >= c.at)) throw new TypeError(`replayPartitioned: pause of '${c.member}' ends (${c.until}) before it starts (${c.at})`)
  }
  /** Per group, the member that reports dead letters while nobody owns partition 0. */
  const firstMember = new Map<string, string>()
  for (const g of o.groups) {
    const first = [...g.members].sort(byName)[0] ?? changes.find((c) => c.group === g.name && c.kind === 'join')?.member
    if (first === undefined) throw new TypeError(`replayPartitioned: group '${g.name}' needs a member (in members, or joining in schedule)`)
    firstMember.set(g.name, first)
  }
  const shapes: readonly StateShape[] = stateShapes(p)
  // Each instance's KeyBy stages check that their key belongs to the instance's partition.
  let rekeyed: string | undefined
  const guarded = Array.from({ length: n }, (_, part) =>
    isStatelessPipeline(p) ? p : keyedOffPartition(p, part, n, (why) => void (rekeyed ??= why)),
  )
  let clock: VirtualClock | undefined
  let tokens = 0
  const groups: GroupState<O>[] = []
  const slot = reusableRecord()

  /** Events of processing time to run in order: membership changes and lease expiries. */
  const agenda: { readonly at: number; readonly seq: number; readonly run: () => Promise<void> }[] = []
  let seq = 0
  const later = (at: number, run: () => Promise<void>) => {
    const e = { at, seq: seq++, run }
    let i = agenda.length
    while (i > 0 && agenda[i - 1].at > at) i--
    agenda.splice(i, 0, e)
  }
  const runAgenda = async (until: number) => {
    while (agenda.length > 0 && agenda[0].at <= until) {
      const e = agenda.shift()!
      if (e.at > clock!.now()) clock!.advanceTo(e.at)
      await e.run()
    }
  }

  const member = (g: GroupState<O>, name: string): MemberState<O> => {
    let m = g.members.get(name)
    if (m === undefined) {
      m = { name, status: 'absent', listed: false, incarnation: 0, tasks: new Map(), result: new Collector<O>(), fenced: 0 }
      g.members.set(name, m)
    }
    return m
  }

  const emit = (g: GroupState<O>, m: MemberState<O>, v: O, pos: number) => {
    g.out.push(v)
    m.result.next({ _tag: 'Data', value: v, time: Number.NaN, pos } as Data<O>)
  }

  const startTask = async (g: GroupState<O>, m: MemberState<O>, part: number) => {
    const token = ++tokens
    g.leases[part] = { holder: m.name, token }
    g.takeovers++
    const held: O[] = []
    // Read through `task` only once it exists: an instance emits nothing while it is being built.
    let task!: Task<O>
    const collector = new Collector<O>({
      keepOutput: false,
      keepSideOutputs: false,
      onOutput: (v, pos) => {
        if (task.owner.status === 'paused') held.push(v)
        else emit(g, task.owner, v, pos)
      },
      onDeadLetter: (d) => m.result.deadLetter(d),
      onLate: (l) => m.result.lateEvent(l),
    })
    const ctx = collector.context({ scheduler: clock })
    const { input, subscription, machines: registry } = openPipeline(guarded[part], ctx, collector)
    const machines = registry.machines
    const saved = g.checkpoints[part]
    if (saved !== undefined) restoreCut(saved, { name: p.name, shapes, source: [] }, machines)
    const next = restoredPositions(saved)
    task = { part, owner: m, token, ctx, collector, subscription, input, machines, next, sinceCheckpoint: 0, held }
    m.tasks.set(part, task)
    await catchUp(g, task)
  }

  const drop = (t: Task<O>) => {
    t.subscription.unsubscribe()
    t.owner.tasks.delete(t.part)
  }
  /** A write by a task that no longer holds its partition's lease: refused, and the task dropped. */
  const fenced = (g: GroupState<O>, t: Task<O>): boolean => {
    if (g.leases[t.part]?.token === t.token) return false
    g.fenced++
    t.owner.fenced++
    drop(t)
    return true
  }

  /** Saves the partition's checkpoint (acknowledging what it covers), unless the lease is lost. */
  const checkpoint = async (g: GroupState<O>, t: Task<O>) => {
    if (t.ctx.credit.outstanding > 0) await t.ctx.credit.drained()
    if (fenced(g, t)) return
    g.checkpoints[t.part] = cutOf(t.machines, { pipeline: p.name, plan: shapes, input: undefined, ...positions(t.next), outputs: 0, acked: [] })
    t.sinceCheckpoint = 0
    g.checkpointsTaken++
  }

  /** A partition's stream positions as a checkpoint holds them: each source's, and their sum. */
  const positions = (next: readonly number[]): { offset: number; offsets?: Record<string, number> } => {
    if (names === undefined) return { offset: next[0] }
    const offsets: Record<string, number> = {}
    let offset = 0
    for (let l = 0; l < lanes; l++) {
      offsets[names[l]] = next[l]
      offset += next[l]
    }
    return { offset, offsets }
  }

  /** Where a partition's checkpoint left each source's stream (the start, without one). */
  const restoredPositions = (saved: Checkpoint | undefined): number[] => {
    if (saved === undefined) return new Array<number>(lanes).fill(0)
    return names === undefined ? [saved.offset] : names.map((name) => saved.offsets?.[name] ?? 0)
  }

  /** The source whose next record for the task came first in the log, or -1 when it has them all. */
  const nextLane = (streams: readonly Queued[][], next: readonly number[]): number => {
    let best = -1
    for (let l = 0; l < lanes; l++)
      if (next[l] < streams[l].length && (best < 0 || streams[l][next[l]].seq < streams[best][next[best]].seq)) best = l
    return best
  }

  /** Delivers the partition's records the task has not had yet, in log order, checkpointing as due. */
  const catchUp = async (g: GroupState<O>, t: Task<O>) => {
    const streams = g.streams[t.part]
    const delivered = g.delivered[t.part]
    for (let l = nextLane(streams, t.next); l >= 0 && t.owner.tasks.get(t.part) === t && t.owner.status === 'running'; l = nextLane(streams, t.next)) {
      const at = t.next[l]
      const { record: r, value } = streams[l][at]
      if (at < delivered[l]) g.redelivered++
      else delivered[l] = at + 1
      t.next[l]++
      t.owner.result.eventsIn++
      t.input.next(slot.fill(value, r.arrival, r.offset))
      if (rekeyed !== undefined) throw new RekeyedError(rekeyed)
      if (++t.sinceCheckpoint >= every) await checkpoint(g, t)
    }
  }

  /** Gives a partition up cleanly: checkpoint, then release the lease. */
  const release = async (g: GroupState<O>, t: Task<O>) => {
    await checkpoint(g, t)
    if (t.owner.tasks.get(t.part) !== t) return
    drop(t)
    g.leases[t.part] = undefined
  }

  /** Moves partitions to the owners `assignPartitions` gives over the listed members. */
  const rebalance = async (g: GroupState<O>) => {
    const listed = [...g.members.values()].filter((m) => m.listed).map((m) => m.name)
    const want = assignPartitions(n, listed)
    for (let part = 0; part < n; part++) {
      const lease = g.leases[part]
      const to = want[part] === undefined ? undefined : g.members.get(want[part]!)!
      if (lease !== undefined) {
        const holder = g.members.get(lease.holder)!
        if (holder === to && holder.tasks.get(part)?.token === lease.token) continue
        // A silent member holds its leases until they expire: its partitions wait for it.
        if (holder.listed && holder.status !== 'running') continue
        const task = holder.tasks.get(part)
        // A running holder gives the partition up cleanly; a silent one's instance (a paused
        // zombie) is left to be fenced when it wakes.
        if (task !== undefined && holder.status === 'running') {
          if (task.token === lease.token) await release(g, task)
          else drop(task)
        }
        g.leases[part] = undefined
      }
      if (to !== undefined && to.status === 'running') await startTask(g, to, part)
    }
  }

  /** Once `leaseMs` has passed in the same incarnation, the silent member leaves the list. */
  const expireLater = (g: GroupState<O>, m: MemberState<O>, at: number) => {
    const incarnation = m.incarnation
    later(at + leaseMs, async () => {
      if (m.incarnation !== incarnation) return
      m.listed = false
      await rebalance(g)
    })
  }

  const resume = async (g: GroupState<O>, m: MemberState<O>) => {
    m.status = 'running'
    m.incarnation++
    m.listed = true
    for (const t of [...m.tasks.values()]) {
      if (fenced(g, t)) continue
      for (const v of t.held.splice(0)) emit(g, m, v, Number.NaN)
      await catchUp(g, t)
    }
    await rebalance(g)
  }

  const apply = async (g: GroupState<O>, c: MembershipChange) => {
    const m = member(g, c.member)
    switch (c.kind) {
      case 'join':
        if (m.status === 'running' || m.status === 'paused') return
        m.status = 'running'
        m.incarnation++
        m.listed = true
        await rebalance(g)
        return
      case 'leave':
        if (m.status !== 'running') return
        for (const t of [...m.tasks.values()]) await release(g, t)
        m.status = 'left'
        m.incarnation++
        m.listed = false
        await rebalance(g)
        return
      case 'die':
        if (m.status !== 'running' && m.status !== 'paused') return
        for (const t of [...m.tasks.values()]) drop(t)
        m.status = 'dead'
        m.incarnation++
        expireLater(g, m, c.at)
        return
      case 'pause': {
        if (m.status !== 'running') return
        m.status = 'paused'
        m.incarnation++
        if (c.until - c.at >= leaseMs) expireLater(g, m, c.at)
        const incarnation = m.incarnation
        later(c.until, async () => {
          if (m.incarnation === incarnation) await resume(g, m)
        })
        return
      }
    }
  }

  /** The member that reports what has no partition of its own: the owner of partition 0. */
  const reporter = (g: GroupState<O>) => member(g, g.leases[0]?.holder ?? firstMember.get(g.spec.name)!)
  /** A dead letter with no partition of its own. */
  const reject = (g: GroupState<O>, d: DeadLetter) => {
    const m = reporter(g)
    m.result.eventsIn++
    m.result.deadLetter(d)
  }
  /** Records of a partition not yet covered by its checkpoint, over its sources. */
  const unacked = (g: GroupState<O>, part: number): number => {
    const at = restoredPositions(g.checkpoints[part])
    let left = 0
    for (let l = 0; l < lanes; l++) left += g.streams[part][l].length - at[l]
    return left
  }

  const start = async (at: number) => {
    clock = new VirtualClock(at)
    for (const spec of o.groups) {
      const g: GroupState<O> = {
        spec,
        out: [],
        members: new Map(),
        streams: Array.from({ length: n }, () => Array.from({ length: lanes }, () => [])),
        checkpoints: new Array(n).fill(undefined),
        leases: new Array(n).fill(undefined),
        delivered: Array.from({ length: n }, () => new Array(lanes).fill(0)),
        redelivered: 0,
        checkpointsTaken: 0,
        takeovers: 0,
        fenced: 0,
      }
      groups.push(g)
      for (const name of spec.members) {
        const m = member(g, name)
        m.status = 'running'
        m.listed = true
      }
      await rebalance(g)
    }
    for (const c of [...changes].sort((a, b) => a.at - b.at)) {
      const g = groups.find((x) => x.spec.name === c.group)!
      later(c.at, () => apply(g, c))
    }
    for (const d of early.splice(0)) for (const g of groups) reject(g, d)
    for (const g of groups) reporter(g).result.skipped += earlySkipped
  }
  /** Dead letters read before the first record, which starts the clock and the members. */
  const early: DeadLetter[] = []
  /** Records of topics no source reads, read before the first record. */
  let earlySkipped = 0
  let seqs = 0
  const tasks = () => groups.flatMap((g) => [...g.members.values()].flatMap((m) => [...m.tasks.values()]))
  /** Some instance's async stages are still working. */
  const busy = () => {
    for (const g of groups) for (const m of g.members.values()) for (const t of m.tasks.values()) if (t.ctx.credit.outstanding > 0) return true
    return false
  }
  /** What every instance's async stages started has landed (they take no virtual time). */
  const settleAsync = async () => {
    for (const t of tasks()) if (t.ctx.credit.outstanding > 0) await t.ctx.credit.drained()
  }

  for await (const batch of readLog(log)) {
    for (const e of batch) {
      if (isDeadLetter(e)) {
        if (clock === undefined) early.push(e)
        else for (const g of groups) reject(g, e)
        continue
      }
      if (o.topic !== undefined && e.topic !== o.topic) continue
      let lane = 0
      let value = e.event
      if (route !== undefined) {
        const routed = routeTo(route, e.topic, e.event, e.offset)
        if (routed === undefined) {
          if (clock === undefined) earlySkipped++
          else for (const g of groups) reporter(g).result.skipped++
          continue
        }
        if (isDeadLetter(routed)) {
          if (clock === undefined) early.push(routed)
          else for (const g of groups) reject(g, routed)
          continue
        }
        lane = names!.indexOf(routed.source)
        value = routed
      }
      if (clock === undefined) await start(e.arrival)
      if (busy()) await settleAsync()
      await runAgenda(e.arrival)
      clock!.advanceTo(Math.max(e.arrival, clock!.now()))
      let part: number
      try {
        part = partitionOf(keys[lane](e.event), n)
      } catch (err) {
        const d = deadLetter('user', 'key', e.offset, `the routing key threw: ${errorMessage(err)}`, e.event)
        for (const g of groups) reject(g, d)
        continue
      }
      const queued: Queued = { seq: seqs++, record: e, value }
      for (const g of groups) {
        g.streams[part][lane].push(queued)
        const lease = g.leases[part]
        const t = lease === undefined ? undefined : g.members.get(lease.holder)!.tasks.get(part)
        if (t !== undefined && t.token === lease!.token) await catchUp(g, t)
      }
    }
  }
  // A log with no record still has its groups (and its dead letters), with nothing out.
  if (clock === undefined) await start(0)
  await runAgenda(Number.POSITIVE_INFINITY)
  // The end of input, as `run` ends a broker source: each partition's instance takes a last
  // checkpoint (acknowledging all it read), then gets the end-of-input watermark.
  for (const g of groups)
    for (let part = 0; part < n; part++) {
      const lease = g.leases[part]
      const t = lease === undefined ? undefined : g.members.get(lease.holder)!.tasks.get(part)
      if (t === undefined || t.owner.status !== 'running') {
        if (unacked(g, part) > 0)
          throw new Error(`replayPartitioned: group '${g.spec.name}' ends with partition ${part} unowned and records pending (no member is running)`)
        continue
      }
      await catchUp(g, t)
      await checkpoint(g, t)
      t.input.complete()
    }
  // As replay ends: timers in virtual time, async stages in real time, until every instance is done.
  while (tasks().some((t) => !t.collector.settled)) {
    if (clock!.pending > 0) clock!.flush()
    else if (busy()) await settleAsync()
    else await new Promise((resolve) => setImmediate(resolve))
  }
  const result: Record<string, GroupResult<O>> = {}
  for (const g of groups) {
    const members: Record<string, MemberResult<O>> = {}
    for (const m of [...g.members.values()].sort((a, b) => byName(a.name, b.name))) {
      for (const t of m.tasks.values()) {
        t.subscription.unsubscribe()
        if (t.collector.failed) throw t.collector.failure
      }
      members[m.name] = {
        ...m.result.result(),
        partitions: [...m.tasks.keys()].sort((a, b) => a - b),
        died: m.status === 'dead',
        fenced: m.fenced,
      }
    }
    let pending = 0
    for (let part = 0; part < n; part++) pending += unacked(g, part)
    result[g.spec.name] = {
      out: g.out,
      members,
      redelivered: g.redelivered,
      pending,
      checkpoints: g.checkpointsTaken,
      takeovers: g.takeovers,
      fenced: g.fenced,
    }
  }
  return result
}
