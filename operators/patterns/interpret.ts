import { Observable, type OperatorFunction } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import type { RunContext } from '../core/context.ts'
import { stageSubscriber } from '../core/subscriber.ts'
import type { MatchQueriesSpec } from '../../dsl/matchQueries.ts'

/**
 * The RxJS operator behind `matchQueries`: each event becomes `{ event, ids }` with the ids of the
 * standing queries it matches at that moment; events matching none are dropped (or kept with
 * `ids: []` when asked). Watermarks pass through.
 */
export function matchQueriesOperator(spec: MatchQueriesSpec, ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  const { index, keepUnmatched } = spec
  const onError = (pos: number, value: unknown, message: string) =>
    ctx.deadLetter({ _tag: 'DeadLetter', reason: 'user', stage: 'matchQueries', pos, message, input: value })
  return (source) =>
    new Observable<Element<unknown>>((subscriber) =>
      source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Watermark') return subscriber.next(e)
            // An event with no fields to read (null, a number) matches no query: it goes to dead letters.
            if (typeof e.value !== 'object' || e.value === null) return onError(e.pos, e.value, `an event must be an object, got ${e.value === null ? 'null' : typeof e.value}`)
            const ids = index.match(e.value, (message) => onError(e.pos, e.value, message))
            if (ids.length > 0 || keepUnmatched)
              subscriber.next({ _tag: 'Data', value: { event: e.value, ids }, time: e.time, key: e.key, pos: e.pos })
          },
        }),
      ),
    )
}
