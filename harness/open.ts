import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs'
import type { Element, SourceRecord } from '../dsl/element.ts'
import type { Pipeline } from '../dsl/pipeline.ts'
import { compileElements, type ElementsOptions } from '../dsl/compile.ts'
import type { MachineRegistry, RunContext } from '../operators/core/context.ts'

/** A compiled pipeline subscribed to its output and waiting for source records. */
export interface OpenPipeline {
  /** Where source records go in (`next`), and where the input ends (`complete`). */
  readonly input: Subscriber<SourceRecord>
  /** Unsubscribe to tear the pipeline down. */
  readonly subscription: Subscription
  /** Its stateful machines, made as it was subscribed (the context's registry). */
  readonly machines: MachineRegistry
}

/**
 * The first step of every driver (`run`, `replay`, `replayPartitioned`, `testPipeline`): compiles
 * the pipeline with the run's context and subscribes `output` to it, which makes its machines, in
 * the same order every time, in `ctx.machines`.
 */
export function openPipeline<I, O, K>(
  p: Pipeline<I, O, K>,
  ctx: RunContext,
  output: Partial<Observer<Element<O, K>>>,
  options: ElementsOptions = {},
): OpenPipeline {
  let input!: Subscriber<SourceRecord>
  const subscription = new Observable<SourceRecord>((s) => {
    input = s
  })
    .pipe(compileElements(p, ctx, options))
    .subscribe(output)
  return { input, subscription, machines: ctx.machines }
}
