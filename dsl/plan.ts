import type { Node, OperatorNode, StatelessNode } from './stream.ts'

/** Whether a node is a stateless stage that fuses with its neighbours. */
export const isStateless = (n: Node): n is StatelessNode =>
  n._tag === 'Map' || n._tag === 'Filter' || n._tag === 'FlatMap' || n._tag === 'KeyBy' || n._tag === 'Tap'

export const inputsOf = (n: Node): readonly Node[] =>
  n._tag === 'Source' ? [] : n._tag === 'Merge' || n._tag === 'Operator' ? n.inputs : [n.input]

/** How many stages read each node: a node read twice is multicast, and ends a fused chain. */
export function consumerCounts(output: Node): Map<Node, number> {
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
export function fusedChainAt(n: StatelessNode, counts: Map<Node, number>): { stages: StatelessNode[]; from: Node } {
  const stages: StatelessNode[] = [n]
  let from: Node = n.input
  while (isStateless(from) && (counts.get(from) ?? 0) === 1) {
    stages.unshift(from)
    from = from.input
  }
  return { stages, from }
}


/**
 * The single-input stateful kinds built on a machine, which `compile` can chain (see
 * `machineInterpreters`, whose keys these are).
 */
export const CHAINABLE_KINDS: ReadonlySet<string> = new Set(['Window', 'Match', 'Dedupe', 'Table'])

/** One link of a chain from the source: fused stateless stages, or a chainable stateful stage. */
export type ChainLink = { readonly _tag: 'Stateless'; readonly stages: StatelessNode[] } | { readonly _tag: 'Machine'; readonly node: OperatorNode }

/**
 * The links from the source to `n` when all of them run inside the source's operator: every node
 * on the way is read by one stage only, and each is stateless or a chainable stateful stage.
 * Undefined when the chain is broken (a merge, a join, a stream read twice) before the source.
 */
export function chainTo(n: Node, counts: Map<Node, number>): ChainLink[] | undefined {
  if (n._tag === 'Source') return counts.get(n) === 1 ? [] : undefined
  if (isStateless(n)) {
    const { stages, from } = fusedChainAt(n, counts)
    const up = counts.get(from) === 1 ? chainTo(from, counts) : undefined
    return up && [...up, { _tag: 'Stateless', stages }]
  }
  if (n._tag !== 'Operator' || n.inputs.length !== 1 || !CHAINABLE_KINDS.has(n.kind) || counts.get(n.inputs[0]) !== 1) return undefined
  const up = chainTo(n.inputs[0], counts)
  return up && [...up, { _tag: 'Machine', node: n }]
}
