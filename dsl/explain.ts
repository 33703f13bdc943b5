import type { AnyPipeline } from './pipeline.ts'
import { plan } from './plan.ts'

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
