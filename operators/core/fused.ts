import { Observable, type OperatorFunction } from 'rxjs'
import type { Element } from '../../dsl/element.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { StatelessNode } from '../../dsl/stream.ts'
import type { RunContext } from './context.ts'
import { stageSubscriber } from './subscriber.ts'
import { generate } from './codegen.ts'

/** Pushes one bare value into the rest of a fused chain. */
export type Push = (v: unknown) => void

/** The element being processed by a fused chain: its metadata, held once instead of per stage. */
export interface Cursor {
  time: number
  key: unknown
  pos: number
}

/**
 * Composes stateless stages (listed source-first) into one function over bare values ending in
 * `tail`, with the key it computed in the cursor. A throwing user function sends that value to dead
 * letters with the cursor's position. (A chained link takes the element in parts instead: see
 * `statelessLink` in chained.ts.)
 *
 * The function is generated as straight-line code (as @most/core fuses map/filter): one call per
 * user function and no closure hop between stages, and since every chain gets its own code, each
 * call site sees one target and V8 can inline it. That is what keeps a long chain near a loop.
 */
export function chain(
  stages: readonly StatelessNode[],
  cur: Cursor,
  ctx: RunContext,
  tail: Push,
  stopped: () => boolean = () => false,
): Push {
  const gen = chainCode(stages, 'return', 'cur.key = key; tail(v);', 'stopped()')
  const body = `return function fusedChain(v) {\nlet key = cur.key; const pos = cur.pos;\n${gen.code}\n}`
  const params = [...gen.params, 'cur', 'tail', 'stopped']
  return generate('fusedChain', params, body)(...gen.args(ctx), cur, tail, stopped) as Push
}

/** A fused chain as code, for a generator to place in a function of its own (see `chain` and ingest). */
export interface ChainCode {
  /**
   * Statements over the locals `v` (the value, replaced by each `map`) and `key` (set by `keyBy`,
   * cleared by `map`), reading `pos` for dead letters; the value that comes through runs `end`.
   */
  readonly code: string
  /** The names the code uses (user functions and helpers), and their values for a run. */
  readonly params: readonly string[]
  args(ctx: RunContext): unknown[]
}

/**
 * Generates a chain's statements. `skip` leaves the chain for the current value at top level
 * (`return` in a function of its own, `break label` inline); inside a `flatMap` loop it is `continue`.
 * `stopped` is an expression true once the output is gone: a `flatMap` then stops pulling from its
 * iterable, which may be long or endless, as RxJS's own `from(iterable)` does.
 */
export function chainCode(stages: readonly StatelessNode[], skip: string, end: string, stopped = 'false'): ChainCode {
  const lines: string[] = []
  let open = 0 // flatMap loops still open around the rest of the chain
  stages.forEach((s, i) => {
    const leave = open > 0 ? 'continue' : skip
    const call = (into: string) =>
      `try { ${into} = f${i}(v); } catch (e) { fail(${JSON.stringify(stageName[s._tag])}, e, v, pos); ${leave}; }`
    switch (s._tag) {
      case 'Map':
        lines.push(`{ let o; ${call('o')} v = o; } key = undefined;`)
        break
      case 'Filter':
        lines.push(`{ let keep; ${call('keep')} if (!keep) ${leave}; }`)
        break
      case 'KeyBy':
        lines.push(`{ let k; ${call('k')} if (typeof k !== 'string' && typeof k !== 'number') { badKey(v, k, pos); ${leave}; } key = k; }`)
        break
      case 'Tap':
        lines.push(`{ let u; ${call('u')} }`)
        break
      case 'FlatMap': {
        // Stepped by hand, not `for...of`: an iterable that throws part-way (a generator) sends that
        // value to dead letters like a throwing `f`, after the values it gave, while an error from the
        // stages after it (in the loop's body) still fails the run.
        const at = (x: string) => `${x}${i}`
        const name = JSON.stringify(stageName[s._tag])
        lines.push(
          `let ${at('it')}; ${call(at('it'))} let ${at('g')}; try { ${at('g')} = ${at('it')}[Symbol.iterator]() } catch (e) { fail(${name}, e, v, pos); ${leave}; }`,
          `const ${at('v')} = v; for (;;) { if (${stopped}) break; let ${at('r')}; try { ${at('r')} = ${at('g')}.next() } catch (e) { fail(${name}, e, ${at('v')}, pos); break; } if (${at('r')}.done) break; v = ${at('r')}.value; key = undefined;`,
        )
        open++
        break
      }
    }
  })
  const fns = stages.map((s) => s.f)
  return {
    code: `${lines.join('\n')}\n${end}\n${'}'.repeat(open)}`,
    params: [...fns.map((_, i) => `f${i}`), 'fail', 'badKey'],
    args: (ctx) => {
      const fail = (stage: string, e: unknown, value: unknown, pos: number) =>
        ctx.deadLetter(deadLetter('user', stage, pos, errorMessage(e), value))
      const badKey = (v: unknown, k: unknown, pos: number) =>
        fail('keyBy', new TypeError(`key must be a string or a number, got ${typeof k}`), v, pos)
      return [...fns, fail, badKey]
    },
  }
}

const stageName: Record<StatelessNode['_tag'], string> = {
  Map: 'map',
  Filter: 'filter',
  FlatMap: 'flatMap',
  KeyBy: 'keyBy',
  Tap: 'tap',
}

/**
 * Fuses a chain of stateless stages into one operator: one subscriber and one output record per
 * surviving event, however long the chain. Watermarks pass through unchanged.
 */
export function fused(stages: readonly StatelessNode[], ctx: RunContext): OperatorFunction<Element<unknown>, Element<unknown>> {
  return (source) =>
    new Observable<Element<unknown>>((subscriber) => {
      const cur: Cursor = { time: 0, key: undefined, pos: 0 }
      const head = chain(
        stages,
        cur,
        ctx,
        (value) => subscriber.next({ _tag: 'Data', value, time: cur.time, key: cur.key, pos: cur.pos }),
        () => subscriber.closed,
      )
      return source.subscribe(
        stageSubscriber<Element<unknown>>(subscriber, {
          next(e) {
            if (e._tag === 'Watermark') return subscriber.next(e)
            cur.time = e.time
            cur.key = e.key
            cur.pos = e.pos
            head(e.value)
          },
        }),
      )
    })
}
