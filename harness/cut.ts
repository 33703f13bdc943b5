import type { Source } from '../connectors/sources.ts'
import { planChange, type StateShape } from '../dsl/fingerprint.ts'
import type { Stateful } from '../operators/core/machine.ts'
import { decodeTagged, encodeTagged } from '../operators/core/taggedJson.ts'
import { CheckpointMismatchError, type Checkpoint, type CheckpointOptions, type CheckpointV1 } from './checkpoint.ts'
import { inputChange, inputIdentity, type InputIdentity } from './inputIdentity.ts'

/** Where a run stands at a cut, besides its machines' state. */
export interface CutPosition {
  readonly pipeline: string
  readonly plan: readonly StateShape[]
  readonly input: InputIdentity | undefined
  readonly offset: number
  readonly offsets?: Readonly<Record<string, number>>
  readonly outputs: number
  readonly acked: readonly unknown[]
}

/**
 * The checkpoint of a cut: every machine's `snapshot()`, in tagged JSON (a copy: the run goes on
 * updating its state in place), with what it was taken for.
 */
export function cutOf(machines: readonly Stateful[], at: CutPosition): Checkpoint {
  return {
    version: 2,
    pipeline: at.pipeline,
    plan: at.plan.map((s) => s.shape),
    ...(at.input === undefined ? {} : { input: at.input }),
    offset: at.offset,
    ...(at.offsets === undefined ? {} : { offsets: at.offsets }),
    outputs: at.outputs,
    operators: encodeTagged(machines.map((m) => m.snapshot!()), 'operators') as unknown[],
    acked: at.acked,
  }
}

/** What a run is, for deciding whether a checkpoint belongs to it. */
export interface RunIdentity {
  readonly name: string
  readonly shapes: readonly StateShape[]
  readonly source: Source<unknown>
  /** Its input's identity when given (a multi-source run's, `inputsIdentity`); else `source`'s. */
  readonly input?: InputIdentity
}

/**
 * Restores a checkpoint into the machines, after checking that it belongs to this run: the same
 * pipeline name, the same stateful shapes (`planChange`), the same input (`inputChange`); else a
 * `CheckpointMismatchError` saying what differs, and nothing is restored. A version 1 checkpoint
 * (plain JSON, no fingerprint) is checked by name and number of stages only.
 */
export function restoreCut(c: Checkpoint | CheckpointV1, run: RunIdentity, machines: readonly Stateful[]): void {
  const refuse = (why: string): never => {
    throw new CheckpointMismatchError(why)
  }
  if (c.pipeline !== run.name) refuse(`checkpoint is for pipeline '${c.pipeline}', not '${run.name}'`)
  if (c.version === 2) {
    const changed = planChange(c.plan, run.shapes)
    if (changed !== undefined) refuse(`checkpoint was taken for a different plan: ${changed}`)
    const moved = inputChange(c.input, run.input ?? inputIdentity(run.source))
    if (moved !== undefined) refuse(moved)
  }
  if (c.operators.length !== machines.length)
    refuse(`checkpoint is for pipeline '${c.pipeline}' with ${c.operators.length} stateful stages, not '${run.name}' with ${machines.length}`)
  const states = c.version === 2 ? (decodeTagged(c.operators) as unknown[]) : c.operators
  for (let i = 0; i < machines.length; i++) machines[i].restore!(states[i])
}

/** Checks `run`'s checkpoint options: a bad one fails at once, naming the option. */
export function checkCheckpointOptions(cp: CheckpointOptions): void {
  if (cp.everyEvents !== undefined && !(Number.isSafeInteger(cp.everyEvents) && cp.everyEvents >= 1))
    throw new TypeError(`run: checkpoint.everyEvents must be a positive integer, got ${String(cp.everyEvents)}`)
  if (cp.everyMs !== undefined && !(Number.isFinite(cp.everyMs) && cp.everyMs > 0))
    throw new TypeError(`run: checkpoint.everyMs must be a positive number of ms, got ${String(cp.everyMs)}`)
}

/**
 * A run's checkpoints: when one is due, how many records may go in before the next, taking one
 * (the caller has drained the run first) and restoring the latest at start. Everything a checkpoint
 * holds besides the machines' state (the source offset, the outputs written, the tokens it covers)
 * is given by the run when it takes one.
 */
export class Checkpoints {
  private readonly everyEvents: number
  /** The offset and processing time of the last checkpoint taken or restored. */
  private lastOffset = 0
  private lastAt: number

  constructor(
    private readonly options: CheckpointOptions,
    private readonly run: RunIdentity & { readonly input: InputIdentity | undefined },
    private readonly machines: readonly Stateful[],
    private readonly now: () => number,
  ) {
    this.everyEvents = options.everyEvents ?? (options.everyMs === undefined ? 10_000 : Number.POSITIVE_INFINITY)
    this.lastAt = now()
  }

  /** True when one is due at `offset` (records consumed), by count or by processing time. */
  due(offset: number): boolean {
    const everyMs = this.options.everyMs
    return offset - this.lastOffset >= this.everyEvents || (everyMs !== undefined && this.now() - this.lastAt >= everyMs)
  }

  /** True when records went in since the last one. */
  behind(offset: number): boolean {
    return offset > this.lastOffset
  }

  /** Records that may go in before the next one is due by count. */
  room(offset: number): number {
    return this.everyEvents - (offset - this.lastOffset)
  }

  /**
   * Loads the latest checkpoint and restores it into the machines (checking that it belongs to this
   * run, see `restoreCut`); undefined when there is none.
   */
  async restore(): Promise<Checkpoint | CheckpointV1 | undefined> {
    for (const m of this.machines)
      if (typeof m.snapshot !== 'function' || typeof m.restore !== 'function')
        throw new Error(`run: checkpoint: a stage of this pipeline (${m.constructor?.name ?? 'machine'}) has no snapshot/restore`)
    const saved = await this.options.store.load()
    if (saved === undefined) return undefined
    restoreCut(saved, this.run, this.machines)
    this.lastOffset = saved.offset
    return saved
  }

  /** Saves the machines' state with where the run stands (drained: nothing in flight). */
  async take(at: { readonly offset: number; readonly offsets?: Readonly<Record<string, number>>; readonly outputs: number; readonly acked: readonly unknown[] }): Promise<void> {
    const { name, shapes, input } = this.run
    await this.options.store.save(cutOf(this.machines, { pipeline: name, plan: shapes, input, ...at }))
    this.lastOffset = at.offset
    this.lastAt = this.now()
  }
}
