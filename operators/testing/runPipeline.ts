import { from, lastValueFrom, toArray } from 'rxjs'
import type { Data, Element } from '../../dsl/element.ts'
import type { Pipeline } from '../../dsl/pipeline.ts'
import type { DeadLetter, Late } from '../../dsl/sides.ts'
import { compileElements } from '../../dsl/compile.ts'
import { makeContext, type ContextOptions } from '../core/context.ts'

/** What a test run of a pipeline produced: data values, every element, and the side outputs. */
export interface TestRun<O> {
  readonly values: O[]
  readonly elements: Element<O, unknown>[]
  readonly late: Late[]
  readonly dead: DeadLetter[]
}

/**
 * Runs a pipeline over in-memory values (positions 0, 1, ...) and collects everything, watermarks
 * included: a test helper for the table and join suites.
 */
export async function runPipeline<I, O, K>(p: Pipeline<I, O, K>, values: readonly I[], options: ContextOptions = {}): Promise<TestRun<O>> {
  const late: Late[] = []
  const dead: DeadLetter[] = []
  const ctx = makeContext({ onLate: (l) => late.push(l), onDeadLetter: (d) => dead.push(d), ...options })
  const records: Data<unknown>[] = values.map((value, pos) => ({ _tag: 'Data', value, time: Number.NaN, key: undefined, pos }))
  const elements = (await lastValueFrom(from(records).pipe(compileElements(p, ctx), toArray()))) as Element<O, unknown>[]
  const values_: O[] = []
  for (const e of elements) if (e._tag === 'Data') values_.push(e.value)
  return { values: values_, elements, late, dead }
}
