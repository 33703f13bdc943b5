import type { DeadLetter } from '../dsl/sides.ts'
import type { Credit } from '../operators/core/Credit.ts'
import { CheckpointMismatchError, type Checkpoint, type CheckpointV1 } from './checkpoint.ts'
import type { Feeder, Intake } from './feeders.ts'
import type { PullOptions } from '../connectors/sources.ts'

/**
 * The intake of one named source of a multi-source run: its records go in routed to it (see
 * `Routed`), its dead letters name it.
 */
export function routedIntake(intake: Intake, name: string): Intake {
  const stage = `source ${name}`
  return {
    record: (value, pos) => intake.record({ source: name, event: value }, pos),
    batch: (values, pos) => {
      const routed = new Array<unknown>(values.length)
      for (let i = 0; i < values.length; i++) routed[i] = { source: name, event: values[i] }
      intake.batch(routed, pos)
    },
    reject: (d: DeadLetter) => intake.reject(d.stage === 'source' ? { ...d, stage } : d),
    skip: () => intake.skip(),
    // One input ending is not the end: the multi feeder ends the run's input after the last one.
    end: () => undefined,
    fail: (e) => intake.fail(e),
    get settled() {
      return intake.settled
    },
    done: intake.done,
  }
}

/** Broker inputs asked for what they have now (see `MultiFeeder`), and the one allowed to wait. */
const NOW: PullOptions = { wait: false }
const WAIT: PullOptions = { wait: true }

/**
 * How many records of one input the multi-source loop reads in a row: inputs take turns in runs of
 * this many, so the loop's work per turn (choosing an input, a batch into the pipeline) is shared by
 * a run's records. Measured (`npm run bench -- sources`, a window join of two sources, CPU time):
 * runs of 1 record 775 ms, of 8 674 ms, of 16 about 650 ms, of 64 629 ms. Short, so that neither
 * input runs far ahead of the other in event time.
 */
export const RUN_LENGTH = 16

/**
 * Several inputs read by `run`'s one loop, one per named source. Which goes next is a function of
 * how far each has been read: inputs take turns in runs of `RUN_LENGTH` records, the one with the
 * fewest runs read going next (the first declared on a tie) until it has read its run's last record,
 * so a run restored from a checkpoint (which holds each input's offset) interleaves the rest exactly
 * as the uninterrupted run did.
 *
 * Broker inputs are read as their records arrive (live, the order of arrival is the order; what a
 * restore needs is each input's position, which its checkpoint holds). They are asked for what
 * they have now, without waiting: one with nothing (starved) waits its turn behind the others, so
 * an empty topic never holds up a busy one. Only when every input came back empty does one of them,
 * each in turn, wait for records as a broker source does on its own (a blocking read, a poll
 * interval); then all are asked again.
 */
export class MultiFeeder implements Feeder {
  private readonly ended: boolean[]
  /** Inputs whose last feed sent nothing (a broker with nothing new): skipped until another feeds. */
  private readonly starved: boolean[]
  /** The input `ready` chose, and whether it may wait (every input was starved). */
  private current = -1
  private waits = false
  /** The input that waits next when all are starved, in turn. */
  private waitTurn = 0

  constructor(private readonly parts: readonly { readonly name: string; readonly feeder: Feeder }[]) {
    this.ended = parts.map(() => false)
    this.starved = parts.map(() => false)
  }

  get consumed(): number {
    let n = 0
    for (const p of this.parts) n += p.feeder.consumed
    return n
  }

  /** Each input's offset, by source name: what a checkpoint records. */
  offsets(): Record<string, number> {
    const o: Record<string, number> = {}
    for (const p of this.parts) o[p.name] = p.feeder.consumed
    return o
  }

  get atBoundary(): boolean {
    return this.parts.every((p) => p.feeder.atBoundary)
  }

  get stops(): boolean {
    return this.parts.some((p) => p.feeder.stops)
  }

  /** The input to read next, or -1 once all have ended; `waits` says whether it may wait. */
  private next(): number {
    let best = -1
    for (let i = 0; i < this.parts.length; i++) {
      if (this.ended[i] || this.starved[i]) continue
      if (best < 0 || runsRead(this.parts[i].feeder) < runsRead(this.parts[best].feeder)) best = i
    }
    this.waits = false
    if (best >= 0) return best
    // All starved: the next live one in turn waits.
    for (let k = 0; k < this.parts.length; k++) {
      const i = (this.waitTurn + k) % this.parts.length
      if (this.ended[i]) continue
      this.waitTurn = i + 1
      this.waits = true
      return i
    }
    return -1
  }

  ready(): boolean | Promise<boolean> {
    const i = this.next()
    if (i < 0) return false
    const r = this.parts[i].feeder.ready()
    if (r === true || r === false) return this.found(i, r)
    return r.then((ok) => this.found(i, ok))
  }

  private found(i: number, ok: boolean): boolean | Promise<boolean> {
    if (ok) {
      this.current = i
      return true
    }
    this.ended[i] = true
    return this.ready()
  }

  feed(credit: Credit, untilCheckpoint: number): boolean | Promise<boolean> {
    const i = this.current
    const f = this.parts[i].feeder
    const before = f.consumed
    const waited = this.waits
    // The rest of its run, at most: the next choice is made again when that run is read.
    const r = f.feed(credit, Math.min(untilCheckpoint, RUN_LENGTH - (f.consumed % RUN_LENGTH)), waited ? WAIT : NOW)
    if (r === true || r === false) return this.fed(i, before, waited, r)
    return r.then((more) => this.fed(i, before, waited, more))
  }

  private fed(i: number, before: number, waited: boolean, more: boolean): boolean {
    if (!more) this.ended[i] = true
    const sent = this.parts[i].feeder.consumed > before
    // After a wait, or once one input had records, the starved ones are asked again (without waiting).
    if (sent || waited) this.starved.fill(false)
    this.starved[i] = !sent
    return this.ended.some((e) => !e)
  }

  /**
   * Goes on from a checkpoint: each input from its own offset, and a broker input re-acknowledges
   * the records of its own the checkpoint covers (see `covered`).
   */
  async resume(c: Checkpoint | CheckpointV1): Promise<void> {
    const offsets = c.version === 2 ? c.offsets : undefined
    if (offsets === undefined) throw new CheckpointMismatchError('checkpoint was taken by a run with one input, not one per source')
    const acked = new Map<string, unknown[]>(this.parts.map((p) => [p.name, []]))
    for (const pair of c.acked) {
      const [name, token] = pair as readonly [string, unknown]
      acked.get(name)?.push(token)
    }
    for (const p of this.parts) await p.feeder.resume({ ...c, offset: offsets[p.name] ?? 0, acked: acked.get(p.name)! })
  }

  check(): void {
    for (const p of this.parts) p.feeder.check()
  }

  /** The tokens a checkpoint covers, each as `[source name, token]`: a restore gives each input its own. */
  covered(): readonly unknown[] {
    return this.parts.flatMap((p) => p.feeder.covered().map((token) => [p.name, token]))
  }

  async saved(): Promise<void> {
    for (const p of this.parts) await p.feeder.saved()
  }

  async finish(): Promise<void> {
    for (const p of this.parts) await p.feeder.finish()
  }

  async metrics(): Promise<Readonly<Record<string, number>> | undefined> {
    let all: Record<string, number> | undefined
    for (const p of this.parts) {
      const m = await p.feeder.metrics()
      if (m === undefined) continue
      all ??= {}
      for (const [k, v] of Object.entries(m)) all[`${p.name}.${k}`] = v
    }
    return all
  }

  async close(): Promise<void> {
    for (const p of this.parts) await p.feeder.close()
  }
}

/** The runs an input has read in full (see `RUN_LENGTH`). */
const runsRead = (f: Feeder): number => Math.floor(f.consumed / RUN_LENGTH)
