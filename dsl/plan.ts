import type { Node, StatelessNode } from './stream.ts'

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

