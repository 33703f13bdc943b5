import type { Observable } from 'rxjs'
import type { Element } from './element.ts'
import type { OperatorNode } from './stream.ts'
import type { RunContext } from '../operators/core/context.ts'
import type { MatchSpec } from './patterns.ts'
import { matchQueriesOperator } from '../operators/patterns/interpret.ts'
import type { MatchQueriesSpec } from './matchQueries.ts'
import type { AsyncMapSpec, BufferSpec, MicrobatchSpec } from './flow.ts'
import { asyncMapOperator } from '../operators/flow/asyncMap.ts'
import { bufferOperator } from '../operators/flow/buffer.ts'
import { microbatchOperator } from '../operators/flow/microbatch.ts'
import { windowMachine } from '../operators/windows/interpret.ts'
import { windowJoinLag, windowJoinMachine } from '../operators/joins/windowJoin.ts'
import { tableJoinMachine, tableJoinOperator } from '../operators/joins/tableJoin.ts'
import { lookupJoinOperator } from '../operators/joins/lookupJoin.ts'
import { tableTableJoinMachine } from '../operators/joins/tableTableJoin.ts'
import { temporalJoinMachine } from '../operators/joins/temporalJoin.ts'
import { fromMachine2, junction2, type Machine2 } from '../operators/joins/twoInputs.ts'
import type { TemporalJoinSpec } from './temporalJoin.ts'
import type { LookupJoinSpec, TableJoinSpec, TableTableJoinSpec, WindowJoinSpec } from './joins.ts'
import { fromMachine, type Emit } from '../operators/core/machine.ts'
import type { WindowSpec } from './windows.ts'
import { PatternMatcher } from '../operators/patterns/matcher.ts'
import { mergeJunction, type JunctionFactory, type LinkFactory, type MachineFactory } from '../operators/core/chained.ts'
import { dedupeMachine } from '../operators/dedupe.ts'
import type { DedupeSpec } from './dedupe.ts'
import { tableMachine } from '../operators/tables/tableStage.ts'
import { Table } from '../operators/tables/Table.ts'
import type { TableSpec } from './tables.ts'
import type { Key } from './stream.ts'
import { namedSourceLink, namedSourceOperator } from '../operators/core/namedSource.ts'

/** Turns one stateful stage of the description into RxJS, given its compiled inputs. */
export type Interpreter = (
  node: OperatorNode,
  inputs: readonly Observable<Element<unknown>>[],
  ctx: RunContext,
) => Observable<Element<unknown>>

/** How one stateful stage kind runs: `compile` looks its node's `kind` up here. */
export interface StageKind {
  /**
   * Its machine, for a single-input stage built on one: the stage is then chainable (it runs inside
   * the source's operator when nothing else reads the stream in between).
   */
  readonly machine?: MachineFactory
  /**
   * A chain link of its own making, for a single-input stage that is no machine (a named source,
   * which forwards its own watermarks instead of its input's): the stage is then chainable too.
   */
  readonly link?: LinkFactory
  /**
   * Its two-input machine, for a stage with two inputs built on one (a join): the stage is then
   * chainable as a junction (it runs inside the source's operator when both its inputs branch from
   * one stream that nothing else reads). `outputWatermark` lags the watermark it forwards (a window
   * join holds results back by its interval).
   */
  readonly machine2?: {
    readonly make: (node: OperatorNode, ctx: RunContext, emit: Emit<unknown, unknown>) => Machine2<unknown, unknown>
    readonly outputWatermark?: (node: OperatorNode) => (w: number) => number
  }
  /**
   * Its RxJS operator over its compiled inputs; by default its machine wrapped by `fromMachine`, or
   * its two-input machine by `fromMachine2`.
   */
  readonly operator?: Interpreter
}

/**
 * The stateful stage kinds `compile` knows, by `OperatorNode.kind`: one entry per kind, so a new
 * stage is one entry and one file, and the description modules never import RxJS.
 */
export const stageKinds: Record<string, StageKind> = {
  Window: { machine: (n, ctx, emit) => windowMachine(n.spec as WindowSpec, ctx, emit) as ReturnType<MachineFactory> },
  Match: { machine: (n, ctx, emit) => new PatternMatcher(n.spec as MatchSpec, ctx, emit) as ReturnType<MachineFactory> },
  Dedupe: { machine: (n, ctx, emit) => dedupeMachine(n.spec as DedupeSpec, ctx, emit) },
  Table: { machine: (n, ctx, emit) => tableMachine((n.spec as TableSpec).into ?? new Table<Key, unknown>(), ctx, emit) as ReturnType<MachineFactory> },
  MatchQueries: { operator: (n, [input], ctx) => input.pipe(matchQueriesOperator(n.spec as MatchQueriesSpec, ctx)) },
  WindowJoin: {
    machine2: {
      make: (n, ctx, emit) => windowJoinMachine(n.spec as WindowJoinSpec, ctx, emit),
      outputWatermark: (n) => windowJoinLag(n.spec as WindowJoinSpec),
    },
  },
  // Against a standalone table it has one input, and an operator of its own.
  TableJoin: {
    machine2: { make: (n, ctx, emit) => tableJoinMachine(n.spec as TableJoinSpec, ctx, emit) as Machine2<unknown, unknown> },
    operator: (n, inputs, ctx) => tableJoinOperator(n.spec as TableJoinSpec, inputs, ctx),
  },
  TemporalJoin: { machine2: { make: (n, ctx, emit) => temporalJoinMachine(n.spec as TemporalJoinSpec, ctx, emit) as Machine2<unknown, unknown> } },
  LookupJoin: { operator: (n, [input], ctx) => input.pipe(lookupJoinOperator(n.spec as LookupJoinSpec, ctx)) },
  TableTableJoin: { machine2: { make: (n, ctx, emit) => tableTableJoinMachine(n.spec as TableTableJoinSpec, ctx, emit) as Machine2<unknown, unknown> } },
  AsyncMap: { operator: (n, [input], ctx) => input.pipe(asyncMapOperator(n.spec as AsyncMapSpec, ctx)) },
  Buffer: { operator: (n, [input], ctx) => input.pipe(bufferOperator(n.spec as BufferSpec, ctx)) },
  NamedSource: { link: namedSourceLink, operator: (n, [input], ctx) => namedSourceOperator(n, input, ctx) },
  Microbatch: { operator: (n, [input], ctx) => input.pipe(microbatchOperator(n.spec as MicrobatchSpec, ctx)) as Observable<Element<unknown>> },
}

/**
 * True when a stateful stage runs inside a chain (see `physicalPlan`): one with one input as a
 * machine or a link of its own, one with two as a junction, when its kind has such a machine.
 */
export const isChainable = (n: OperatorNode): boolean => {
  const k = stageKinds[n.kind]
  return n.inputs.length === 1 ? k?.machine !== undefined || k?.link !== undefined : n.inputs.length === 2 && k?.machine2 !== undefined
}

/** The operator of a stage of this kind: its own, or its machine wrapped by `fromMachine` or `fromMachine2`. */
export function operatorOf(n: OperatorNode): Interpreter {
  const k = stageKinds[n.kind]
  if (k === undefined) throw new Error(`compile: no interpreter for stage '${n.kind}' (${n.label})`)
  if (k.operator !== undefined) return k.operator
  const m2 = k.machine2
  if (m2 !== undefined)
    return (node, [left, right], ctx) => fromMachine2(ctx, left, right, (emit) => m2.make(node, ctx, emit), m2.outputWatermark?.(node))
  const machine = k.machine!
  return (node, [input], ctx) => input.pipe(fromMachine(ctx, (emit) => machine(node, ctx, emit as Emit<unknown, unknown>)))
}

/** A stage with several inputs as a junction of a chain (see `link`): a merge, or a two-input machine. */
export const junctionOf: JunctionFactory = (node, ctx, to) => {
  if (node._tag === 'Merge') return mergeJunction(node, ctx, to)
  const n = node as OperatorNode
  const m2 = stageKinds[n.kind].machine2!
  const machine = m2.make(n, ctx, (d) => to.data(d))
  return { inputs: junction2(machine, to, m2.outputWatermark?.(n)), machine }
}
