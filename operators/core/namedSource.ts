import { Observable } from 'rxjs'
import type { Element, SourceRecord } from '../../dsl/element.ts'
import type { NamedSourceSpec, Routed, RoutedWatermark } from '../../dsl/sources.ts'
import type { OperatorNode } from '../../dsl/stream.ts'
import type { RunContext } from './context.ts'
import { ingest, reusableRecord } from './ingest.ts'
import { stageSubscriber } from './subscriber.ts'

/**
 * One named source of a multi-source pipeline: takes the routed records of its name (their time is
 * their arrival) and admits them as a pipeline's one source would, with its own codec, event time,
 * watermark and idle timer. The routed stream's watermarks are not its own and are dropped; its end
 * is this source's end too (the end-of-input watermark). A `RoutedWatermark` of its name (a test
 * driver's) raises its watermark.
 */
export function namedSourceOperator(node: OperatorNode, input: Observable<Element<unknown>>, ctx: RunContext): Observable<Element<unknown>> {
  const spec = node.spec as NamedSourceSpec
  const name = spec.sourceName
  const own = new Observable<SourceRecord>((subscriber) => {
    const slot = reusableRecord()
    return input.subscribe(
      stageSubscriber<Element<unknown>>(subscriber, {
        next: (e) => {
          if (e._tag !== 'Data') return
          const r = e.value as Routed & Partial<RoutedWatermark>
          if (r.source !== name) return
          if (r.watermark === undefined) subscriber.next(slot.fill(r.event, e.time, e.pos))
          else subscriber.next({ _tag: 'Watermark', time: r.watermark })
        },
      }),
    )
  })
  return own.pipe(ingest(spec, ctx, [], { stage: node }))
}
