import type { AnyPipeline } from './pipeline.ts'
import { formatDuration } from './time.ts'
import type { Node, StatelessNode } from './stream.ts'
import type { NamedSourceSpec } from './sources.ts'
import type { ResolvedWatermarks } from './watermarks.ts'
import { physicalPlan, type Step } from './plan.ts'
import { isChainable } from './interpreters.ts'

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
