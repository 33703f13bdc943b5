import type { Source } from '../connectors/sources.ts'
import { planChange, type StateShape } from '../dsl/fingerprint.ts'
import type { Stateful } from '../operators/core/operate.ts'
import { decodeTagged, encodeTagged } from '../operators/core/taggedJson.ts'
import { CheckpointMismatchError, type Checkpoint, type CheckpointV1 } from './checkpoint.ts'
import { inputChange, type InputIdentity } from './inputIdentity.ts'

/** Where a run stands at a cut, besides its machines' state. */
export interface CutPosition {
  readonly pipeline: string
  readonly plan: readonly StateShape[]
  readonly input: InputIdentity | undefined
  readonly offset: number
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
    const moved = inputChange(c.input, run.source)
    if (moved !== undefined) refuse(moved)
  }
  if (c.operators.length !== machines.length)
    refuse(`checkpoint is for pipeline '${c.pipeline}' with ${c.operators.length} stateful stages, not '${run.name}' with ${machines.length}`)
  const states = c.version === 2 ? (decodeTagged(c.operators) as unknown[]) : c.operators
  for (let i = 0; i < machines.length; i++) machines[i].restore!(states[i])
}
