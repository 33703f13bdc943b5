import type { Observable } from 'rxjs'
import type { Element } from './element.ts'
import type { OperatorNode } from './stream.ts'
import type { RunContext } from '../operators/core/context.ts'
import type { MatchSpec } from './patterns.ts'
import { matchOperator, matchQueriesOperator } from '../operators/patterns/interpret.ts'
import type { MatchQueriesSpec } from '../operators/patterns/queryIndex.ts'
import type { AsyncMapSpec, BufferSpec, MicrobatchSpec } from './flow.ts'
import { asyncMapOperator } from '../operators/flow/asyncMap.ts'
import { bufferOperator } from '../operators/flow/buffer.ts'
import { microbatchOperator } from '../operators/flow/microbatch.ts'
import { tableAndJoinInterpreters } from '../operators/joins/interpreters.ts'
import { windowInterpreter, windowMachine } from '../operators/windows/interpret.ts'
import type { WindowSpec } from './windows.ts'
import { PatternMatcher } from '../operators/patterns/matcher.ts'
import type { MachineFactory } from '../operators/core/chained.ts'
import { dedupeMachine } from '../operators/dedupe.ts'
import type { DedupeSpec } from './dedupe.ts'
import { tableMachine } from '../operators/tables/tableStage.ts'
import { Table } from '../operators/tables/table.ts'
import type { TableSpec } from './tables.ts'
import type { Key } from './stream.ts'

/** Turns one stateful stage of the description into RxJS, given its compiled inputs. */
export type Interpreter = (
  node: OperatorNode,
  inputs: readonly Observable<Element<unknown>>[],
  ctx: RunContext,
) => Observable<Element<unknown>>

/**
 * The stateful stage kinds `compile` knows, by `OperatorNode.kind`. Each operator family registers
 * its interpreter here, so the description modules never import RxJS.
 */
export const interpreters: Record<string, Interpreter> = {
  Match: (n, [input], ctx) => input.pipe(matchOperator(n.spec as MatchSpec, ctx)),
  MatchQueries: (n, [input], ctx) => input.pipe(matchQueriesOperator(n.spec as MatchQueriesSpec, ctx)),
  ...tableAndJoinInterpreters,
  Window: windowInterpreter,
  AsyncMap: (n, [input], ctx) => input.pipe(asyncMapOperator(n.spec as AsyncMapSpec, ctx)),
  Buffer: (n, [input], ctx) => input.pipe(bufferOperator(n.spec as BufferSpec, ctx)),
  Microbatch: (n, [input], ctx) => input.pipe(microbatchOperator(n.spec as MicrobatchSpec, ctx)) as Observable<Element<unknown>>,
}

/**
 * The single-input stateful kinds built on a `Machine`: `compile` chains these straight after the
 * source (no RxJS between them) when nothing else reads the stream in between.
 */
export const machineInterpreters: Record<string, MachineFactory> = {
  Window: (n, ctx, emit) => windowMachine(n.spec as WindowSpec, ctx, emit) as ReturnType<MachineFactory>,
  Match: (n, ctx, emit) => new PatternMatcher(n.spec as MatchSpec, ctx, emit) as ReturnType<MachineFactory>,
  Dedupe: (n, ctx, emit) => dedupeMachine(n.spec as DedupeSpec, ctx, emit),
  Table: (n, ctx, emit) => tableMachine((n.spec as TableSpec).into ?? new Table<Key, unknown>(), ctx, emit) as ReturnType<MachineFactory>,
}
