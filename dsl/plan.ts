import type { Node, OperatorNode, StatelessNode } from './stream.ts'
import type { AnyPipeline } from './pipeline.ts'
import { formatDuration } from './time.ts'
import { isChainable } from './interpreters.ts'
import type { NamedSourceSpec } from './sources.ts'
import type { ResolvedWatermarks } from './watermarks.ts'

/** Whether a node is a stateless stage that fuses with its neighbours. */
export const isStateless = (n: Node): n is StatelessNode =>
  n._tag === 'Map' || n._tag === 'Filter' || n._tag === 'FlatMap' || n._tag === 'KeyBy' || n._tag === 'Tap'

const inputsOf = (n: Node): readonly Node[] =>
  n._tag === 'Source' ? [] : n._tag === 'Merge' || n._tag === 'Operator' ? n.inputs : [n.input]

/** How many stages read each node: a node read twice is multicast, and ends a fused chain. */
function consumerCounts(output: Node): Map<Node, number> {
  const counts = new Map<Node, number>()
  const seen = new Set<Node>()
  const visit = (n: Node) => {
    if (seen.has(n)) return
    seen.add(n)
    for (const i of inputsOf(n)) {
      counts.set(i, (counts.get(i) ?? 0) + 1)
      visit(i)
    }
  }
  visit(output)
  return counts
}

/** The stateless stages ending at `n` that fuse into one operator (source-first), and what feeds them. */
function fusedChainAt(n: StatelessNode, counts: Map<Node, number>): { stages: StatelessNode[]; from: Node } {
  const stages: StatelessNode[] = [n]
  let from: Node = n.input
  while (isStateless(from) && (counts.get(from) ?? 0) === 1) {
    stages.unshift(from)
    from = from.input
  }
  return { stages, from }
}


/** One link of a chain from the source: fused stateless stages, or a chainable stateful stage. */
export type ChainLink = { readonly _tag: 'Stateless'; readonly stages: readonly StatelessNode[] } | { readonly _tag: 'Machine'; readonly node: OperatorNode }

/**
 * One operator of the physical plan, with the steps that feed it. `node` is the description node
 * whose output the step gives; `shared` says several steps read it (it is multicast, fed once they
 * have all subscribed).
 * - `Chain`: the source's operator, with `links` run inside it as direct calls (Flink's operator
 *   chaining): the stateless stages and chainable stateful stages from the source to `node`.
 * - `Source`: the source alone (its output multicast to the steps that read it).
 * - `Fused`: stateless stages over a step that is not the source's chain, as one operator.
 * - `Merge`: the union of its inputs, with the minimum of their watermarks.
 * - `Operator`: a stateful or multi-input stage as its own RxJS operator.
 */
export type Step =
  | { readonly _tag: 'Chain'; readonly node: Node; readonly shared: boolean; readonly links: readonly ChainLink[] }
  | { readonly _tag: 'Source'; readonly node: Node; readonly shared: boolean }
  | { readonly _tag: 'Fused'; readonly node: StatelessNode; readonly shared: boolean; readonly stages: readonly StatelessNode[]; readonly input: Step }
  | { readonly _tag: 'Merge'; readonly node: Node; readonly shared: boolean; readonly inputs: readonly Step[] }
  | { readonly _tag: 'Operator'; readonly node: OperatorNode; readonly shared: boolean; readonly inputs: readonly Step[] }

/**
 * The physical plan of a pipeline's graph, decided once: `compile` builds it and `explain` prints
 * it. A node read by one stage only fuses or chains with its reader; a node read twice is shared
 * and ends a chain; `chainable` says which stateful kinds run as a machine inside a chain (those
 * with a machine in the stage registry). Returns the output's step; a step reached twice is the
 * same object.
 */
export function physicalPlan(output: Node, chainable: (kind: string) => boolean): Step {
  const counts = consumerCounts(output)
  const steps = new Map<Node, Step>()
  const stepOf = (n: Node): Step => {
    const known = steps.get(n)
    if (known !== undefined) return known
    const shared = (counts.get(n) ?? 0) > 1
    const links = chainTo(n, counts, chainable)
    let step: Step
    if (links !== undefined && links.length > 0) step = { _tag: 'Chain', node: n, shared, links }
    else if (n._tag === 'Source') step = { _tag: 'Source', node: n, shared }
    else if (isStateless(n)) {
      const { stages, from } = fusedChainAt(n, counts)
      step = { _tag: 'Fused', node: n, shared, stages, input: stepOf(from) }
    } else if (n._tag === 'Merge') step = { _tag: 'Merge', node: n, shared, inputs: n.inputs.map(stepOf) }
    else step = { _tag: 'Operator', node: n, shared, inputs: n.inputs.map(stepOf) }
    steps.set(n, step)
    return step
  }
  return stepOf(output)
}

/**
 * The links from the source to `n` when all of them run inside the source's operator: every node
 * on the way is read by one stage only, and each is stateless or a chainable stateful stage.
 * Undefined when the chain is broken (a merge, a join, a stream read twice) before the source.
 */
function chainTo(n: Node, counts: Map<Node, number>, chainable: (kind: string) => boolean): ChainLink[] | undefined {
  if (n._tag === 'Source') return counts.get(n) === 1 ? [] : undefined
  if (isStateless(n)) {
    const { stages, from } = fusedChainAt(n, counts)
    const up = counts.get(from) === 1 ? chainTo(from, counts, chainable) : undefined
    return up && [...up, { _tag: 'Stateless', stages }]
  }
  if (n._tag !== 'Operator' || n.inputs.length !== 1 || !chainable(n.kind) || counts.get(n.inputs[0]) !== 1) return undefined
  const up = chainTo(n.inputs[0], counts, chainable)
  return up && [...up, { _tag: 'Machine', node: n }]
}

/**
 * True when the pipeline holds no events between records: only fused stateless stages and merges
 * over its source. Such a pipeline needs no checkpoint: a broker's records are acknowledged once
 * the sink has written what came of them, and scale-out needs no partition state.
 */
export const isStatelessPipeline = (p: { readonly output: { readonly node: Node } }): boolean => statelessFrom(p.output.node)

// A named source holds no events between records (only its watermark), as the one source does not.
const statelessFrom = (n: Node): boolean =>
  n._tag === 'Source' ||
  (isStateless(n) ? statelessFrom(n.input) : n._tag === 'Merge' ? n.inputs.every(statelessFrom) : n._tag === 'Operator' && n.kind === 'NamedSource')

/** One step of the physical plan: what runs as one operator, and what feeds it. */
export interface PlanStep {
  readonly id: number
  readonly label: string
  readonly inputs: readonly number[]
  /** True when the step runs inside the source's operator (fused or chained), not as its own. */
  readonly chained: boolean
}

const stageLabel = (s: StatelessNode): string => {
  const name = s.f.name && s.f.name !== 'f' && !s.f.name.startsWith('bound ') ? `(${s.f.name})` : ''
  return `${s._tag.charAt(0).toLowerCase()}${s._tag.slice(1)}${name}`
}

/** The plan as `compile` will run it: stateless chains fused into one step, shared steps once. */
export function plan(p: AnyPipeline): PlanStep[] {
  return planNodes(p).steps
}

/**
 * `plan`, with the node each step stands for (`nodes[i]` is `steps[i]`'s), for readers of the plan
 * beyond `explain`. It walks the physical plan (`physicalPlan`, as `compile` builds it), printing a
 * chain as the source and one step per link, each marked as chained.
 */
export function planNodes(p: AnyPipeline): { readonly steps: PlanStep[]; readonly nodes: Node[] } {
  const steps: PlanStep[] = []
  const nodes: Node[] = []
  const ids = new Map<Step, number>()
  const add = (n: Node, label: string, inputs: number[], chained: boolean): number => {
    const id = steps.length + 1
    steps.push({ id, label, inputs, chained })
    nodes.push(n)
    return id
  }
  const fusedLabel = (stages: readonly StatelessNode[]) => (stages.length > 1 ? `fused[${stages.map(stageLabel).join(' → ')}]` : stageLabel(stages[0]))
  const sourceOf = (n: Node): Node => (n._tag === 'Source' ? n : sourceOf(n._tag === 'Operator' || n._tag === 'Merge' ? n.inputs[0] : n.input))
  const go = (s: Step): number => {
    const known = ids.get(s)
    if (known !== undefined) return known
    let id: number
    switch (s._tag) {
      case 'Source':
        id = add(s.node, rootLabel(p), [], false)
        break
      case 'Chain':
        id = add(sourceOf(s.node), rootLabel(p), [], false)
        for (const l of s.links)
          id = l._tag === 'Stateless' ? add(l.stages[l.stages.length - 1], fusedLabel(l.stages), [id], true) : add(l.node, l.node.label, [id], true)
        break
      case 'Fused': {
        const input = go(s.input)
        id = add(s.node, fusedLabel(s.stages), [input], false)
        break
      }
      case 'Merge':
        id = add(s.node, 'merge (min watermark)', s.inputs.map(go), false)
        break
      case 'Operator':
        id = add(s.node, s.node.kind === 'NamedSource' ? sourceLabel(s.node.spec as NamedSourceSpec) : s.node.label, s.inputs.map(go), false)
    }
    ids.set(s, id)
    return id
  }
  go(physicalPlan(p.output.node, isChainable))
  return { steps, nodes }
}

/** A pipeline's one source, or what a multi-source pipeline's sources read: records routed by name. */
const rootLabel = (p: AnyPipeline): string =>
  p.sources === undefined ? sourceLabel(p) : `input (routed by topic to ${Object.keys(p.sources).join(', ')})`

/** A source with its codec and watermarks; a named source with its name. */
const sourceLabel = (s: { readonly codec?: unknown; readonly watermarks: ResolvedWatermarks; readonly sourceName?: string }): string => {
  const w = s.watermarks
  const wm = `boundedOutOfOrder ${formatDuration(w.maxDelay)}${w.idle !== undefined ? `, idleTimeout ${formatDuration(w.idle)}` : ''}`
  const name = s.sourceName === undefined ? '' : ` ${s.sourceName}`
  return `source${name}${s.codec ? ` (codec ${(s.codec as { name?: string }).name ?? 'custom'})` : ''}, watermarks: ${wm}`
}
