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


/**
 * One link of a chain from the source: fused stateless stages, a chainable stateful stage, or a
 * `Junction`: a stage with several inputs (a merge, a join) all read from the chain at one point, the
 * chain forking there into one branch of links per input, in the stage's input order.
 */
export type ChainLink =
  | { readonly _tag: 'Stateless'; readonly stages: readonly StatelessNode[] }
  | { readonly _tag: 'Machine'; readonly node: OperatorNode }
  | { readonly _tag: 'Junction'; readonly node: Node; readonly branches: readonly (readonly ChainLink[])[] }

/**
 * One operator of the physical plan, with the steps that feed it. `node` is the description node
 * whose output the step gives; `shared` says several steps read it (it is multicast, fed once they
 * have all subscribed).
 * - `Chain`: the source's operator, with `links` run inside it as direct calls (Flink's operator
 *   chaining): the stateless stages and chainable stateful stages from the source to `node`, and
 *   the stages with several inputs whose branches all start in the chain.
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
 * Which stateful stages run inside a chain: a single-input one as a machine, one with several inputs
 * as a junction (see `isChainable` in interpreters.ts).
 */
export type Chainable = (n: OperatorNode) => boolean

/**
 * The physical plan of a pipeline's graph, decided once: `compile` builds it and `explain` prints
 * it. A node read by one stage only fuses or chains with its reader; a node read twice is shared
 * and ends a chain, unless all its readers are the branches of one stage with several inputs (a
 * merge or join of two filters of one stream), which then chains as a junction. `chainable` says
 * which stateful stages run inside a chain. Returns the output's step; a step reached twice is the
 * same object.
 */
export function physicalPlan(output: Node, chainable: Chainable): Step {
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
 * The links from the source to `n` when all of them run inside the source's operator (whoever reads
 * `n` itself). Undefined when the chain is broken before the source: a stage that does not chain, or
 * a stream read twice other than by the branches of one junction.
 */
function chainTo(n: Node, counts: Map<Node, number>, chainable: Chainable): ChainLink[] | undefined {
  const up = linksUpTo(n, counts, chainable)
  return up !== undefined && up.root === undefined ? up.links : undefined
}

/**
 * The links that run from `root` to `n` (`n`'s included, `root`'s not), walking up through nodes
 * read by one stage only. `root` is the first node read by several stages, where this walk stops;
 * undefined when the walk reached the source, every reader on the way accounted for. Undefined as a
 * whole when a stage on the way does not chain.
 */
function linksUpTo(n: Node, counts: Map<Node, number>, chainable: Chainable): { readonly root: Node | undefined; readonly links: ChainLink[] } | undefined {
  const above = (from: Node, link: ChainLink) => {
    if ((counts.get(from) ?? 0) > 1) return { root: from, links: [link] }
    const up = linksUpTo(from, counts, chainable)
    return up && { root: up.root, links: [...up.links, link] }
  }
  if (n._tag === 'Source') return { root: undefined, links: [] }
  if (isStateless(n)) {
    const { stages, from } = fusedChainAt(n, counts)
    return above(from, { _tag: 'Stateless', stages })
  }
  if (n._tag === 'Operator' && n.inputs.length === 1) return chainable(n) ? above(n.inputs[0], { _tag: 'Machine', node: n }) : undefined
  if (n._tag === 'Operator' && !chainable(n)) return undefined
  return junctionAt(n, counts, chainable)
}

/**
 * A stage with several inputs as a junction: each input's branch walks up to the same node, read
 * by these branches and nothing else (so the stage sees that node's elements in the order it would
 * as an operator subscribing to its inputs in turn); the chain then goes on above that node.
 */
function junctionAt(n: Node & { readonly inputs: readonly Node[] }, counts: Map<Node, number>, chainable: Chainable) {
  const branches: ChainLink[][] = []
  let fork: Node | undefined
  for (const input of n.inputs) {
    const b = (counts.get(input) ?? 0) > 1 ? { root: input, links: [] } : linksUpTo(input, counts, chainable)
    if (b === undefined || b.root === undefined || (fork !== undefined && b.root !== fork)) return undefined
    fork = b.root
    branches.push(b.links)
  }
  if (fork === undefined || counts.get(fork) !== n.inputs.length) return undefined
  const link: ChainLink = { _tag: 'Junction', node: n, branches }
  const up = linksUpTo(fork, counts, chainable)
  return up && { root: up.root, links: [...up.links, link] }
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
 * chain as the source and one step per link, each marked as chained (a junction after the steps of
 * its branches, which all start at the step where the chain forks).
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
  // A chain's links after step `from`, each marked as chained; a junction after its branches.
  const addLinks = (links: readonly ChainLink[], from: number): number => {
    let id = from
    for (const l of links)
      if (l._tag === 'Stateless') id = add(l.stages[l.stages.length - 1], fusedLabel(l.stages), [id], true)
      else if (l._tag === 'Machine') id = add(l.node, operatorLabel(l.node), [id], true)
      else {
        const inputs = l.branches.map((b) => addLinks(b, id))
        id = add(l.node, l.node._tag === 'Merge' ? MERGE_LABEL : operatorLabel(l.node as OperatorNode), inputs, true)
      }
    return id
  }
  const go = (s: Step): number => {
    const known = ids.get(s)
    if (known !== undefined) return known
    let id: number
    switch (s._tag) {
      case 'Source':
        id = add(s.node, rootLabel(p), [], false)
        break
      case 'Chain':
        id = addLinks(s.links, add(sourceOf(s.node), rootLabel(p), [], false))
        break
      case 'Fused': {
        const input = go(s.input)
        id = add(s.node, fusedLabel(s.stages), [input], false)
        break
      }
      case 'Merge':
        id = add(s.node, MERGE_LABEL, s.inputs.map(go), false)
        break
      case 'Operator':
        id = add(s.node, operatorLabel(s.node), s.inputs.map(go), false)
    }
    ids.set(s, id)
    return id
  }
  go(physicalPlan(p.output.node, isChainable))
  return { steps, nodes }
}

const MERGE_LABEL = 'merge (min watermark)'

/** A stateful stage as the plan prints it: its label, a named source's its source's. */
const operatorLabel = (n: OperatorNode): string => (n.kind === 'NamedSource' ? sourceLabel(n.spec as NamedSourceSpec) : n.label)

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
