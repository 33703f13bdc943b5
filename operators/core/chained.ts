import type { Data } from '../../dsl/element.ts'
import type { OperatorNode, StatelessNode } from '../../dsl/stream.ts'
import { chain, type Cursor } from './fused.ts'
import { registerMachine, type RunContext } from './context.ts'
import type { Emit, Machine } from './machine.ts'
import { generate } from './codegen.ts'

/** Builds the machine of a single-input stateful stage, emitting its results to `emit`. */
export type MachineFactory = (node: OperatorNode, ctx: RunContext, emit: Emit<unknown, unknown>) => Machine<unknown, unknown>

/** One link of a chain that runs inside a single operator: fused stateless stages, or a machine. */
export type Segment =
  | { readonly _tag: 'Stateless'; readonly stages: readonly StatelessNode[] }
  | { readonly _tag: 'Machine'; readonly node: OperatorNode; readonly make: MachineFactory }

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
export function link(segments: readonly Segment[], ctx: RunContext, end: Downstream): { head: Downstream; machines: Machine<unknown, unknown>[] } {
  let next = end
  const machines: Machine<unknown, unknown>[] = []
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]
    const to = next
    if (s._tag === 'Stateless') {
      const cur: Cursor = { time: 0, key: undefined, pos: 0 }
      const push = chain(s.stages, cur, ctx, to)
      const parts: Downstream['push'] = (value, time, key, pos) => {
        cur.time = time
        cur.key = key
        cur.pos = pos
        push(value)
      }
      next = {
        data: (d) => parts(d.value, d.time, d.key, d.pos),
        push: parts,
        watermark: (w) => to.watermark(w),
        ignoresWatermarks: to.ignoresWatermarks,
      }
    } else {
      const machine = s.make(s.node, ctx, (d) => to.data(d))
      registerMachine(ctx, machine, s.node)
      machines.push(machine)
      next = machineLink(machine, to)
    }
  }
  return { head: next, machines }
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
