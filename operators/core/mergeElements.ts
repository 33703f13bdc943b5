import { Observable } from 'rxjs'
import type { Element } from '../../dsl/element.ts'

/**
 * Merges element streams; the output watermark is the minimum of the inputs' watermarks, emitted
 * when that minimum advances. Completes when every input has completed.
 */
export function mergeElements<A>(inputs: readonly Observable<Element<A>>[]): Observable<Element<A>> {
  return new Observable<Element<A>>((subscriber) => {
    const marks = inputs.map(() => Number.NEGATIVE_INFINITY)
    let emitted = Number.NEGATIVE_INFINITY
    let open = inputs.length
    const subs = inputs.map((input, i) =>
      input.subscribe({
        next(e) {
          if (e._tag === 'Data') return subscriber.next(e)
          if (e.time <= marks[i]) return
          marks[i] = e.time
          let min = marks[0]
          for (let j = 1; j < marks.length; j++) if (marks[j] < min) min = marks[j]
          if (min > emitted) {
            emitted = min
            subscriber.next(min === e.time ? e : { _tag: 'Watermark', time: min })
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          if (--open === 0) subscriber.complete()
        },
      }),
    )
    return () => subs.forEach((s) => s.unsubscribe())
  })
}
