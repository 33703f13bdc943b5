import type { AnyPipeline } from './pipeline.ts'
import { formatDuration } from './time.ts'
import type { Node, StatelessNode } from './stream.ts'
import { chainTo, consumerCounts, fusedChainAt, isStateless } from './plan.ts'

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

/** `plan`, with the node each step stands for (`nodes[i]` is `steps[i]`'s), for readers of the plan beyond `explain`. */
export function planNodes(p: AnyPipeline): { readonly steps: PlanStep[]; readonly nodes: Node[] } {
  const counts = consumerCounts(p.output.node)
  const chained = new Set<Node>()
  const markChains = (n: Node): void => {
    const links = chainTo(n, counts)
    if (links !== undefined) for (const l of links) chained.add(l._tag === 'Machine' ? l.node : l.stages[l.stages.length - 1])
    else for (const i of n._tag === 'Source' ? [] : n._tag === 'Merge' || n._tag === 'Operator' ? n.inputs : [n.input]) markChains(i)
  }
  markChains(p.output.node)
  const steps: PlanStep[] = []
  const nodes: Node[] = []
  const ids = new Map<Node, number>()
  const go = (n: Node): number => {
    const known = ids.get(n)
    if (known !== undefined) return known
    let label: string
    let inputs: number[]
    if (n._tag === 'Source') {
      const w = p.watermarks
      const wm = `boundedOutOfOrder ${formatDuration(w.maxDelay)}${w.idle !== undefined ? `, idleTimeout ${formatDuration(w.idle)}` : ''}`
      label = `source${p.codec ? ` (codec ${(p.codec as { name?: string }).name ?? 'custom'})` : ''}, watermarks: ${wm}`
      inputs = []
    } else if (isStateless(n)) {
      const { stages, from } = fusedChainAt(n, counts)
      inputs = [go(from)]
      label = stages.length > 1 ? `fused[${stages.map(stageLabel).join(' → ')}]` : stageLabel(n)
    } else if (n._tag === 'Merge') {
      inputs = n.inputs.map(go)
      label = 'merge (min watermark)'
    } else {
      inputs = n.inputs.map(go)
      label = n.label
    }
    const id = steps.length + 1
    steps.push({ id, label, inputs, chained: chained.has(n) })
    nodes.push(n)
    ids.set(n, id)
    return id
  }
  go(p.output.node)
  return { steps, nodes }
}

/**
 * Renders the plan as text (one line per operator, with what feeds it) or as a Mermaid flowchart
 * for notebooks and docs.
 *
 * @example
 * console.log(explain(flightsPerHour, { format: 'mermaid' }))
 */
export function explain(p: AnyPipeline, options: { format?: 'text' | 'mermaid' } = {}): string {
  const steps = plan(p)
  if (options.format === 'mermaid') {
    const esc = (s: string) => s.replace(/"/g, '#quot;')
    const lines = ['flowchart LR']
    for (const s of steps) lines.push(`  n${s.id}["${esc(s.label)}"]`)
    for (const s of steps) for (const i of s.inputs) lines.push(`  n${i} --> n${s.id}`)
    lines.push(`  n${steps.length} --> out(("out"))`)
    return lines.join('\n')
  }
  const lines = [`pipeline ${p.name}`]
  for (const s of steps)
    lines.push(`  ${s.id}. ${s.label}${s.inputs.length ? `  <- ${s.inputs.join(', ')}` : ''}${s.chained ? '  (chained into 1)' : ''}`)
  return lines.join('\n')
}
