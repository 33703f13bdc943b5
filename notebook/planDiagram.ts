import type { PlanStep } from '../dsl/plan.ts'
import { escapeHtml } from './render.ts'

const CHAR_W = 7.2
const LINE_H = 16
const PAD = 10
const COL_GAP = 56
const ROW_GAP = 22
/** Labels wrap at this many characters (a fused chain can be long). */
const WRAP = 34

interface Box {
  readonly step: PlanStep | undefined
  readonly lines: string[]
  readonly w: number
  readonly h: number
  x: number
  y: number
}

/**
 * The plan (`plan(p)`, what `explain` prints) drawn as an SVG flowchart, left to right: each step a
 * box in the column of its depth from the source, an arrow from each input, and `out` last. Steps
 * chained into the source's operator have a dashed border. Self-contained: no script, no fonts
 * fetched.
 *
 * @example
 * writeFileSync('plan.svg', planDiagram(plan(weeklyDelays)))
 */
export function planDiagram(steps: readonly PlanStep[]): string {
  const depth = new Map<number, number>()
  for (const s of steps) depth.set(s.id, s.inputs.length === 0 ? 0 : 1 + Math.max(...s.inputs.map((i) => depth.get(i) ?? 0)))
  const last = steps[steps.length - 1]
  const boxes = new Map<number | 'out', Box>()
  for (const s of steps) boxes.set(s.id, box(s, wrap(`${s.id}. ${s.label}`)))
  boxes.set('out', box(undefined, ['out']))
  const columns: Box[][] = []
  for (const s of steps) (columns[depth.get(s.id)!] ??= []).push(boxes.get(s.id)!)
  columns.push([boxes.get('out')!])
  let x = PAD
  let height = 0
  const colHeights = columns.map((c) => c.reduce((sum, b) => sum + b.h, 0) + ROW_GAP * (c.length - 1))
  const tallest = Math.max(...colHeights)
  columns.forEach((col, i) => {
    let y = PAD + (tallest - colHeights[i]) / 2
    for (const b of col) {
      b.x = x
      b.y = y
      y += b.h + ROW_GAP
    }
    x += Math.max(...col.map((b) => b.w)) + COL_GAP
    height = Math.max(height, y - ROW_GAP + PAD)
  })
  const width = x - COL_GAP + PAD
  const edges: string[] = []
  const arrow = (from: Box, to: Box) => {
    const x1 = from.x + from.w
    const y1 = from.y + from.h / 2
    const x2 = to.x - 2
    const y2 = to.y + to.h / 2
    const mid = (x1 + x2) / 2
    edges.push(`<path class="edge" d="M${r(x1)},${r(y1)} C${r(mid)},${r(y1)} ${r(mid)},${r(y2)} ${r(x2)},${r(y2)}" marker-end="url(#arrow)"/>`)
  }
  for (const s of steps) for (const i of s.inputs) arrow(boxes.get(i)!, boxes.get(s.id)!)
  if (last !== undefined) arrow(boxes.get(last.id)!, boxes.get('out')!)
  const nodes = [...boxes.values()].map((b) => {
    const cls = b.step === undefined ? 'out' : b.step.chained ? 'step chained' : 'step'
    const text = b.lines
      .map((l, i) => `<tspan x="${r(b.x + PAD)}" y="${r(b.y + PAD + LINE_H * (i + 0.75))}">${escapeHtml(l)}</tspan>`)
      .join('')
    return `<g class="${cls}"><rect x="${r(b.x)}" y="${r(b.y)}" width="${r(b.w)}" height="${r(b.h)}" rx="${b.step === undefined ? r(b.h / 2) : 6}"/><text>${text}</text></g>`
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="plan" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" role="img" aria-label="pipeline plan">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    '<style>.step rect{fill:#eef4fb;stroke:#4c78a8;stroke-width:1.5}.chained rect{stroke-dasharray:5 3}.out rect{fill:#fdf1e3;stroke:#f58518;stroke-width:1.5}' +
      'text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:#222}.edge{fill:none;stroke:#555;stroke-width:1.5}</style>',
    ...edges,
    ...nodes,
    '</svg>',
  ].join('\n')
}

const box = (step: PlanStep | undefined, lines: string[]): Box => ({
  step,
  lines,
  w: Math.max(...lines.map((l) => l.length)) * CHAR_W + 2 * PAD,
  h: lines.length * LINE_H + 2 * PAD - 4,
  x: 0,
  y: 0,
})

/** A label in lines of at most `WRAP` characters, broken after a space, comma or arrow where it can be. */
function wrap(label: string): string[] {
  const lines: string[] = []
  let rest = label
  while (rest.length > WRAP) {
    const window = rest.slice(0, WRAP)
    const cut = Math.max(window.lastIndexOf(' '), window.lastIndexOf(','), window.lastIndexOf('→'))
    const at = cut > WRAP / 3 ? cut + 1 : WRAP
    lines.push(rest.slice(0, at).trimEnd())
    rest = rest.slice(at).trimStart()
  }
  lines.push(rest)
  return lines
}

const r = (n: number): string => String(Math.round(n * 10) / 10)
