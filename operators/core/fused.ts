import { Observable, type OperatorFunction } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { StatelessNode } from '../../dsl/stream.ts'
import type { RunContext } from './context.ts'

/** Pushes one bare value into the rest of a fused chain. */
export type Push = (v: unknown) => void

/** The element being processed by a fused chain: its metadata, held once instead of per stage. */
export interface Cursor {
  time: number
  key: unknown
  pos: number
}

/**
 * Composes stateless stages (listed source-first) into one closure chain over bare values ending in
 * `tail`. A throwing user function sends that value to dead letters with the cursor's position.
 */
export function chain(stages: readonly StatelessNode[], cur: Cursor, ctx: RunContext, tail: Push): Push {
  const fail = (stage: string, e: unknown, value: unknown) =>
    ctx.deadLetter(deadLetter('user', stage, cur.pos, errorMessage(e), value))
  let push = tail
  for (let i = stages.length - 1; i >= 0; i--) {
    const next = push
    const s = stages[i]
    switch (s._tag) {
      case 'Map': {
        const f = s.f
        push = (v) => {
          let out: unknown
          try {
            out = f(v)
          } catch (e) {
            return fail('map', e, v)
          }
          cur.key = undefined
          next(out)
        }
        break
      }
      case 'Filter': {
        const f = s.f
        push = (v) => {
          let keep: boolean
          try {
            keep = f(v)
          } catch (e) {
            return fail('filter', e, v)
          }
          if (keep) next(v)
        }
        break
      }
      case 'FlatMap': {
        const f = s.f
        push = (v) => {
          let out: Iterable<unknown>
          try {
            out = f(v)
          } catch (e) {
            return fail('flatMap', e, v)
          }
          for (const o of out) {
            cur.key = undefined
            next(o)
          }
        }
        break
      }
      case 'KeyBy': {
        const f = s.f
        push = (v) => {
          let k: unknown
          try {
            k = f(v)
          } catch (e) {
            return fail('keyBy', e, v)
          }
          if (typeof k !== 'string' && typeof k !== 'number')
            return fail('keyBy', new TypeError(`key must be a string or a number, got ${typeof k}`), v)
          cur.key = k
          next(v)
        }
        break
      }
      case 'Tap': {
        const f = s.f
        push = (v) => {
          try {
            f(v)
          } catch (e) {
            return fail('tap', e, v)
          }
          next(v)
        }
        break
      }
    }
  }
  return push
}

/**
 * Fuses a chain of stateless stages into one operator: one subscriber and one output record per
 * surviving event, however long the chain. Watermarks pass through unchanged.
 */
export function fused(stages: readonly StatelessNode[], ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      const cur: Cursor = { time: 0, key: undefined, pos: 0 }
      const head = chain(stages, cur, ctx, (value) =>
        subscriber.next({ _tag: 'Data', value, time: cur.time, key: cur.key, pos: cur.pos }),
      )
      return source.subscribe({
        next(e) {
          try {
            if (e._tag === 'Watermark') subscriber.next(e)
            else {
              cur.time = e.time
              cur.key = e.key
              cur.pos = e.pos
              head(e.value)
            }
          } catch (err) {
            subscriber.error(err)
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      })
    })
}
