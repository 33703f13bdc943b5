/**
 * A plan's fingerprint for checkpoints: the shape of the state each stateful stage keeps. A
 * checkpoint records it, and a run refuses to restore one whose shapes differ from its own plan's
 * (see docs/checkpoints.md): state restored into another shape (a `sum` added beside a `count`, a
 * window of another size) would resume with wrong or missing accumulators, silently.
 */
import type { AnyPipeline } from './pipeline.ts'
import { planNodes } from './plan.ts'
import { windowShape, type WindowSpec } from './windows.ts'
import { patternShape, type MatchSpec } from './patterns.ts'

/** One stateful stage of a plan: its step number (as `explain` prints it) and its state's shape. */
export interface StateShape {
  readonly step: number
  readonly shape: string
}

/** Stages that hold nothing across a checkpoint: it is taken once their work in flight has drained. */
const NO_STATE: ReadonlySet<string> = new Set(['AsyncMap', 'Buffer', 'LookupJoin', 'MatchQueries'])

/** Kinds whose label leaves out part of what their state depends on; every other kind's label says it all. */
const SHAPES: Readonly<Record<string, (spec: unknown) => string>> = {
  Window: (spec) => windowShape(spec as WindowSpec),
  Match: (spec) => patternShape(spec as MatchSpec),
}

/**
 * The stateful stages of `p`, in plan order, with the shape of their state.
 *
 * @example
 * stateShapes(counts) // [{ step: 3, shape: 'window tumbling 50ms (updates) → aggregate count' }]
 */
export function stateShapes(p: AnyPipeline): StateShape[] {
  const { steps, nodes } = planNodes(p)
  const out: StateShape[] = []
  for (let i = 0; i < steps.length; i++) {
    const n = nodes[i]
    if (n._tag !== 'Operator' || NO_STATE.has(n.kind)) continue
    out.push({ step: steps[i].id, shape: SHAPES[n.kind]?.(n.spec) ?? n.label })
  }
  return out
}

/**
 * What changed from the shapes a checkpoint recorded (`saved`) to the plan's (`now`), in words, or
 * undefined when nothing did. Only shapes count: a stateless stage added or removed keeps the state
 * valid, and only renumbers the steps.
 *
 * @example
 * planChange(['window tumbling 50ms → aggregate { n: count }'], stateShapes(p))
 * // 'stage 3 window tumbling 50ms → aggregate { n: count } is now window tumbling 50ms → aggregate { n: count, s: sum }'
 */
export function planChange(saved: readonly string[], now: readonly StateShape[]): string | undefined {
  const n = Math.max(saved.length, now.length)
  for (let i = 0; i < n; i++) {
    const was = saved[i]
    const is = now[i]
    if (is === undefined) return `its stateful stage ${was} is not in this plan`
    if (was === undefined) return `stage ${is.step} ${is.shape} is new`
    if (was !== is.shape) return `stage ${is.step} ${was} is now ${is.shape}`
  }
  return undefined
}
