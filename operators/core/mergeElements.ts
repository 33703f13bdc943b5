import { Observable } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import { MinWatermark } from './MinWatermark.ts'
import { stageSubscriber } from './subscriber.ts'

/**
 * Merges element streams; the output watermark is the minimum of the inputs' watermarks, emitted
 * when that minimum advances. Completes when every input has completed.
 */
export function mergeElements<A>(inputs: readonly Observable<Element<A>>[]): Observable<Element<A>> {
  return new Observable<Element<A>>((subscriber) => {
    const marks = new MinWatermark(inputs.length)
    let open = inputs.length
    const subs = inputs.map((input, i) =>
      input.subscribe(
        stageSubscriber<Element<A>>(subscriber, {
          next(e) {
            if (e._tag === 'Data') return subscriber.next(e)
            const w = marks.advance(i, e.time)
            if (w !== undefined) subscriber.next(w === e.time ? e : { _tag: 'Watermark', time: w })
          },
          complete: () => {
            if (--open === 0) subscriber.complete()
          },
        }),
      ),
    )
    return () => subs.forEach((s) => s.unsubscribe())
  })
}
