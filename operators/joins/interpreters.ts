import type { Observable } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import type { Interpreter } from '../../dsl/interpreters.ts'
import type { DedupeSpec } from '../../dsl/dedupe.ts'
import type { LookupJoinSpec, TableJoinSpec, TableTableJoinSpec, WindowJoinSpec } from '../../dsl/joins.ts'
import type { TableSpec } from '../../dsl/tables.ts'
import { dedupeOperator } from '../dedupe.ts'
import { tableOperator } from '../tables/tableStage.ts'
import { lookupJoinOperator } from './lookupJoin.ts'
import { tableJoinOperator } from './tableJoin.ts'
import { tableTableJoinOperator } from './tableTableJoin.ts'
import { temporalJoinOperator } from './temporalJoin.ts'
import type { TemporalJoinSpec } from '../../dsl/temporalJoin.ts'
import { windowJoinOperator } from './windowJoin.ts'

/** The interpreters of the table, join and dedupe stages, registered in dsl/interpreters.ts. */
export const tableAndJoinInterpreters: Record<string, Interpreter> = {
  Table: (n, [input], ctx) => input.pipe(tableOperator(n.spec as TableSpec, ctx)),
  WindowJoin: (n, [left, right], ctx) => windowJoinOperator(n.spec as WindowJoinSpec, left, right, ctx),
  TableJoin: (n, inputs, ctx) => tableJoinOperator(n.spec as TableJoinSpec, inputs, ctx),
  TemporalJoin: (n, inputs, ctx) => temporalJoinOperator(n.spec as TemporalJoinSpec, inputs, ctx),
  LookupJoin: (n, [input], ctx) => input.pipe(lookupJoinOperator(n.spec as LookupJoinSpec, ctx)),
  TableTableJoin: (n, [left, right], ctx) => tableTableJoinOperator(n.spec as TableTableJoinSpec, left, right, ctx),
  Dedupe: (n, [input], ctx) => input.pipe(dedupeOperator(n.spec as DedupeSpec, ctx)) as Observable<Element<unknown>>,
}
