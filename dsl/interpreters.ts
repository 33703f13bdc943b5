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
import { windowJoinOperator } from '../operators/joins/windowJoin.ts'
import { tableJoinOperator } from '../operators/joins/tableJoin.ts'
import { lookupJoinOperator } from '../operators/joins/lookupJoin.ts'
import { tableTableJoinOperator } from '../operators/joins/tableTableJoin.ts'
import { temporalJoinOperator } from '../operators/joins/temporalJoin.ts'
import type { TemporalJoinSpec } from './temporalJoin.ts'
import type { LookupJoinSpec, TableJoinSpec, TableTableJoinSpec, WindowJoinSpec } from './joins.ts'
import { fromMachine, type Emit } from '../operators/core/machine.ts'
import type { WindowSpec } from './windows.ts'
import { PatternMatcher } from '../operators/patterns/matcher.ts'
import type { MachineFactory } from '../operators/core/chained.ts'
import { dedupeMachine } from '../operators/dedupe.ts'
import type { DedupeSpec } from './dedupe.ts'
import { tableMachine } from '../operators/tables/tableStage.ts'
import { Table } from '../operators/tables/Table.ts'
import type { TableSpec } from './tables.ts'
import type { Key } from './stream.ts'
import { namedSourceOperator } from '../operators/core/namedSource.ts'

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
  /** Its RxJS operator over its compiled inputs; by default its machine wrapped by `fromMachine`. */
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
  WindowJoin: { operator: (n, [left, right], ctx) => windowJoinOperator(n.spec as WindowJoinSpec, left, right, ctx) },
  TableJoin: { operator: (n, inputs, ctx) => tableJoinOperator(n.spec as TableJoinSpec, inputs, ctx) },
  TemporalJoin: { operator: (n, inputs, ctx) => temporalJoinOperator(n.spec as TemporalJoinSpec, inputs, ctx) },
  LookupJoin: { operator: (n, [input], ctx) => input.pipe(lookupJoinOperator(n.spec as LookupJoinSpec, ctx)) },
  TableTableJoin: { operator: (n, [left, right], ctx) => tableTableJoinOperator(n.spec as TableTableJoinSpec, left, right, ctx) },
  AsyncMap: { operator: (n, [input], ctx) => input.pipe(asyncMapOperator(n.spec as AsyncMapSpec, ctx)) },
  Buffer: { operator: (n, [input], ctx) => input.pipe(bufferOperator(n.spec as BufferSpec, ctx)) },
  NamedSource: { operator: (n, [input], ctx) => namedSourceOperator(n, input, ctx) },
  Microbatch: { operator: (n, [input], ctx) => input.pipe(microbatchOperator(n.spec as MicrobatchSpec, ctx)) as Observable<Element<unknown>> },
}

/** True when stages of this kind run as a machine inside a chain (see `physicalPlan`). */
export const isChainable = (kind: string): boolean => stageKinds[kind]?.machine !== undefined

/** The operator of a stage of this kind: its own, or its machine wrapped by `fromMachine`. */
export function operatorOf(n: OperatorNode): Interpreter {
  const k = stageKinds[n.kind]
  if (k === undefined) throw new Error(`compile: no interpreter for stage '${n.kind}' (${n.label})`)
  if (k.operator !== undefined) return k.operator
  const machine = k.machine!
  return (node, [input], ctx) => input.pipe(fromMachine(ctx, (emit) => machine(node, ctx, emit as Emit<unknown, unknown>)))
}
