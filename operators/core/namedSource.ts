import { Observable } from 'rxjs'
import { END_OF_INPUT, type Element, type SourceRecord } from '../../dsl/element.ts'
import type { NamedSourceSpec, Routed, RoutedWatermark } from '../../dsl/sources.ts'
import type { OperatorNode } from '../../dsl/stream.ts'
import type { RunContext } from './context.ts'
import { admission, ingest, reusableRecord } from './ingest.ts'
import type { LinkFactory } from './chained.ts'
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

/** A chained named source has no stream of its own to fail or close: a stage's error goes up the chain. */
const inChain = { closed: false, error: (e: unknown) => { throw e } }

/**
 * A named source as a link of the chain that reads the pipeline's input (see `link`): the routed
 * records of its name go through its own admission (codec, event time, watermark, idle timer) to
 * `to`, as `namedSourceOperator` sends them, with no operator between. The input's watermarks are
 * not its own: only the end of input goes on, as its own end.
 */
export const namedSourceLink: LinkFactory = (node, ctx, to) => {
  const name = (node.spec as NamedSourceSpec).sourceName
  const admit = admission(node.spec as NamedSourceSpec, ctx, to, inChain, { stage: node })
  const push = (value: unknown, time: number, pos: number) => {
    const r = value as Routed & Partial<RoutedWatermark>
    if (r.source !== name) return
    if (r.watermark === undefined) admit.value(r.event, time, pos)
    // A test driver's (advanceWatermarkTo): taken as a source's own watermark, as the operator does.
    else admit.record({ _tag: 'Watermark', time: r.watermark })
  }
  return {
    link: {
      data: (d) => push(d.value, d.time, d.pos),
      push: (value, time, _key, pos) => push(value, time, pos),
      watermark: (w) => {
        if (w === END_OF_INPUT.time) admit.end()
      },
    },
    dispose: admit.dispose,
  }
}
