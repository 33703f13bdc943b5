import type { Data } from '../../dsl/element.ts'
import type { Node, OperatorNode, StatelessNode } from '../../dsl/stream.ts'
import { chainCode } from './fused.ts'
import { registerMachine, type RunContext } from './context.ts'
import type { Emit, Machine, Stateful } from './machine.ts'
import { MinWatermark } from './MinWatermark.ts'
import { generate } from './codegen.ts'

/** Builds the machine of a single-input stateful stage, emitting its results to `emit`. */
export type MachineFactory = (node: OperatorNode, ctx: RunContext, emit: Emit<unknown, unknown>) => Machine<unknown, unknown>

/**
 * Builds a stage with several inputs as a chain link (a junction): one link per input, in the
 * stage's input order, its results to `to`; and the stateful machine behind it, if any.
 */
export type JunctionFactory = (node: Node, ctx: RunContext, to: Downstream) => { readonly inputs: readonly Downstream[]; readonly machine?: Stateful & Disposable }

/**
 * Builds a single-input stage as a chain link of its own making, for a stage that is no `Machine`
 * (a named source: it forwards its own watermarks, not its input's). It registers its state for
 * checkpoints itself; `dispose` is called on teardown.
 */
export type LinkFactory = (node: OperatorNode, ctx: RunContext, to: Downstream) => { readonly link: Downstream; dispose?(): void }

/**
 * One link of a chain that runs inside a single operator: fused stateless stages, a machine, a link
 * of a stage's own making, or a junction whose branches each start where the chain forks (see
 * `ChainLink` in dsl/plan.ts).
 */
export type Segment =
  | { readonly _tag: 'Stateless'; readonly stages: readonly StatelessNode[] }
  | { readonly _tag: 'Machine'; readonly node: OperatorNode; readonly make: MachineFactory }
  | { readonly _tag: 'Link'; readonly node: OperatorNode; readonly make: LinkFactory }
  | { readonly _tag: 'Junction'; readonly node: Node; readonly make: JunctionFactory; readonly branches: readonly (readonly Segment[])[] }

/** What a chain link hands its output to: data, and watermark advances as bare numbers. */
export interface Downstream {
  data(d: Data<unknown>): void
  /**
   * The same as `data` for an element not yet in a record: links pass its parts as arguments, so an
   * event crossing a chain (source, stateless stages, window) allocates nothing on the way.
   */
  push(value: unknown, time: number, key: unknown, pos: number): void
  watermark(w: number): void
  /** True when `watermark` does nothing (an output without watermarks): links then skip the call. */
  readonly ignoresWatermarks?: boolean
}

/**
 * Links segments into direct calls, Flink's operator chaining: between chained stages there is no
 * RxJS subscriber and no watermark record, only a function call, so a source, its stateless stages
 * and the windows or patterns after them cost one operator. Each machine still sees every watermark
 * advance after the data before it and before its results go on, as `fromMachine` guarantees.
 * Returns the head of the chain and the machines it made (to dispose of on teardown).
 */
export function link(segments: readonly Segment[], ctx: RunContext, end: Downstream): { head: Downstream; machines: Disposable[] } {
  const machines: Disposable[] = []
  return { head: linkInto(segments, ctx, end, machines), machines }
}

/** Something `link` made that holds resources until teardown. */
export interface Disposable {
  dispose?(): void
}

// Built from the end back, so machines register in the order their operators subscribed before
// chaining did (the downstream one first, a junction before its branches, left before right):
// checkpoints restore machines by that order.
function linkInto(segments: readonly Segment[], ctx: RunContext, end: Downstream, machines: Disposable[]): Downstream {
  let next = end
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]
    const to = next
    if (s._tag === 'Stateless') next = statelessLink(s.stages, ctx, to)
    else if (s._tag === 'Machine') {
      const machine = s.make(s.node, ctx, (d) => to.data(d))
      registerMachine(ctx, machine, s.node)
      machines.push(machine)
      next = machineLink(machine, to)
    } else if (s._tag === 'Link') {
      const made = s.make(s.node, ctx, to)
      machines.push(made)
      next = made.link
    } else {
      const { inputs, machine } = s.make(s.node, ctx, to)
      if (machine !== undefined) {
        registerMachine(ctx, machine, s.node)
        machines.push(machine)
      }
      next = fanOut(s.branches.map((b, j) => linkInto(b, ctx, inputs[j], machines)))
    }
  }
  return next
}

/**
 * Where a chain forks into the branches of a junction: each element to every branch in turn, in the
 * junction's input order, as a multicast source would hand it to the operators subscribed to it.
 * Generated (see codegen.ts) so that each call to a branch sees one target.
 */
const fanOut = (branches: readonly Downstream[]): Downstream => {
  const names = branches.map((_, i) => `b${i}`)
  const all = (call: string, only: (b: Downstream) => boolean = () => true) =>
    names.filter((_, i) => only(branches[i])).map((b) => `${b}.${call};`).join(' ')
  const ignores = branches.every((b) => b.ignoresWatermarks === true)
  return generate(
    'fanOut',
    names,
    `return {
      data(d) { ${all('data(d)')} },
      push(value, time, key, pos) { ${all('push(value, time, key, pos)')} },
      watermark(w) { ${all('watermark(w)', (b) => b.ignoresWatermarks !== true)} },
      ignoresWatermarks: ${ignores},
    }`,
  )(...branches) as Downstream
}

/**
 * A merge as a junction: data passes straight through, and the watermark goes on when the minimum
 * of the inputs' watermarks advances, as `mergeElements` does between operators.
 */
export const mergeJunction: JunctionFactory = (node, _ctx, to) => {
  const n = (node as { readonly inputs: readonly unknown[] }).inputs.length
  const marks = new MinWatermark(n)
  const inputs = Array.from({ length: n }, (_, i): Downstream => ({
    data: (d) => to.data(d),
    push: (value, time, key, pos) => to.push(value, time, key, pos),
    watermark: (w) => {
      const m = marks.advance(i, w)
      if (m !== undefined) to.watermark(m)
    },
    ignoresWatermarks: to.ignoresWatermarks,
  }))
  return { inputs }
}

/**
 * Stateless stages as a link: one generated function of the element's parts (see `chainCode`), which
 * hands what comes through to the next link in parts too, so no record and no cursor is written
 * between them. Watermarks pass through.
 */
export function statelessLink(stages: readonly StatelessNode[], ctx: RunContext, to: Downstream): Downstream {
  const gen = chainCode(stages, 'return', 'to.push(v, time, key, pos);')
  return generate(
    'statelessLink',
    [...gen.params, 'to'],
    `function statelessLink(v, time, key, pos) {
      ${gen.code}
    }
    return {
      push: statelessLink,
      data(d) { statelessLink(d.value, d.time, d.key, d.pos) },
      watermark(w) { ${to.ignoresWatermarks === true ? '' : 'to.watermark(w)'} },
      ignoresWatermarks: ${to.ignoresWatermarks === true},
    }`,
  )(...gen.args(ctx), to) as Downstream
}

/**
 * A machine's link, as code of its own for every link (see codegen.ts), so that its calls to the
 * machine and to the next link each see one target even when a process runs many pipelines.
 */
const machineLink = (machine: Machine<unknown, unknown>, to: Downstream): Downstream =>
  generate(
    'machineLink',
    ['machine', 'to'],
    `return {
      data(d) { machine.data(d) },
      // The machine's own push when it has one: the link adds no call of its own.
      push: machine.push === undefined
        ? (value, time, key, pos) => machine.data({ _tag: 'Data', value, time, key, pos })
        : machine.push,
      // Watermarks reach a link already strictly increasing (ingest raises them, links pass them on).
      watermark(w) {
        machine.watermark(w)
        ${to.ignoresWatermarks === true ? '' : 'to.watermark(w)'}
      },
    }`,
  )(machine, to) as Downstream
