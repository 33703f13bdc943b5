import type { Key } from '../../dsl/stream.ts'
import type { WindowAssigner, WindowSpec } from '../../dsl/windows.ts'
import type { RunContext } from '../core/context.ts'
import type { Emit } from '../core/machine.ts'
import { hoppingKind } from './hopping.ts'
import { hoppingSlicedKind } from './hoppingSliced.ts'
import { WindowCore, type KeyState, type WindowKind } from './WindowCore.ts'
import { sessionKind } from './session.ts'
import { slidingKind } from './sliding.ts'
import { incrementalWindows, slidingIncrementalKind } from './slidingIncremental.ts'
import { compileAggregator } from './aggregator.ts'
import { tumblingKind } from './tumbling.ts'

/** The window kind (assigner plus per-key state) for an assigner. */
export function windowKind(a: WindowAssigner): WindowKind<any> {
  switch (a._tag) {
    case 'Tumbling':
      return tumblingKind(a)
    case 'Hopping':
      return hoppingKind(a)
    case 'Sliding':
      return slidingKind(a)
    case 'Session':
      return sessionKind(a)
  }
}

/**
 * Builds the windowing machine of a `window` + `aggregate` stage, emitting its results to `emit`.
 * Sliding and overlapping hopping windows whose aggregation allows it are aggregated from shared
 * partial aggregates (`incrementalWindows`).
 */
export const windowMachine = (spec: WindowSpec, ctx: RunContext, emit: Emit<unknown, Key>): WindowCore<KeyState> => {
  const agg = compileAggregator(spec.aggregation)
  const a = spec.assigner
  const incremental = incrementalWindows(spec, agg)
  const kind =
    a._tag === 'Sliding' && incremental
      ? slidingIncrementalKind(a)
      : a._tag === 'Hopping' && a.size > a.hop && incremental
        ? hoppingSlicedKind(a)
        : windowKind(a)
  // The aggregator compiled once serves both the choice of kind and the machine.
  return new WindowCore(kind, spec, ctx, emit, { aggregator: agg })
}
