import type { Monoid } from 'fp-ts/lib/Monoid.js'
import {
  STAGED,
  isAggregator,
  isMonoid,
  type AggregateSpec,
  type AggregationLike,
  type Aggregator,
  type Staged,
} from '../../dsl/aggregations.ts'

/**
 * An aggregation spec ready to run. `read(a)` runs the user's functions on one event (the only part
 * that throws for built-ins) and keeps what it read; `fold(acc)` adds that event to one window's
 * accumulator. An event in several windows (hopping, sliding) is read once and folded into each.
 */
export interface CompiledAggregator {
  /** The fields, for code generated per stage (see `fastPath.ts`); `single`: the accumulator is the one field's own. */
  readonly fields: readonly Field[]
  readonly single: boolean
  init(): unknown
  read(a: unknown): void
  fold(acc: unknown): unknown
  /** The two accumulators as one. For a record, a new record: `x` is left whole even when a field's merge throws. */
  merge(x: unknown, y: unknown): unknown
  result(acc: unknown): unknown
}

type AnyFn = (...a: any[]) => any

/** One field, in two-phase form: `input` undefined means the step ignores the event (count). */
export interface Field {
  readonly input: AnyFn | undefined
  readonly step: AnyFn
  readonly init: AnyFn
  readonly merge: AnyFn | undefined
  readonly result: AnyFn
}

/**
 * A record's fold, as statements over `acc` and the inputs read (`x0`, `x1`, ...) with steps `s0`,
 * `s1`, ...: every step runs before any field changes, so a step that throws (a user `add` or monoid)
 * leaves the whole accumulator as it was, however many fields may throw.
 */
export const foldStatements = (n: number): string => {
  const idx = [...Array(n).keys()]
  return `const ${idx.map((i) => `y${i} = s${i}(acc.a${i}, x${i})`).join(', ')}; ${idx.map((i) => `acc.a${i} = y${i};`).join(' ')}`
}

const identity = (x: unknown) => x

function field(a: AggregationLike): Field {
  if (isMonoid(a)) {
    const M = a as Monoid<unknown>
    const concat = (x: unknown, y: unknown) => M.concat(x, y)
    return { input: identity, step: concat, init: () => M.empty, merge: concat, result: identity }
  }
  const agg = a as Aggregator<unknown, unknown, unknown>
  const staged = (agg as { [STAGED]?: Staged<unknown, unknown, unknown> })[STAGED]
  return staged !== undefined
    ? { input: staged.input, step: staged.step, init: agg.init, merge: agg.merge, result: agg.result }
    : { input: identity, step: agg.add, init: agg.init, merge: agg.merge, result: agg.result }
}

const noMerge = (): never => {
  throw new TypeError('aggregate: this aggregation has no merge (session windows need one)')
}

class SingleAggregator implements CompiledAggregator {
  private x: unknown = undefined
  readonly fields: readonly Field[]
  readonly single = true
  constructor(private readonly f: Field) {
    this.fields = [f]
  }
  init(): unknown {
    return this.f.init()
  }
  read(a: unknown): void {
    const input = this.f.input
    this.x = input === undefined ? undefined : input(a)
  }
  fold(acc: unknown): unknown {
    return this.f.step(acc, this.x)
  }
  merge(x: unknown, y: unknown): unknown {
    return (this.f.merge ?? noMerge)(x, y)
  }
  result(acc: unknown): unknown {
    return this.f.result(acc)
  }
}

/**
 * A record of aggregations: the accumulator is an object with one property per field (`a0`, `a1`, ...),
 * not an array: its values sit in the object itself, one memory load nearer than an array's elements.
 */
class RecordAggregator implements CompiledAggregator {
  readonly single = false
  /** Every field reads before any accumulator changes, so a throwing `f` leaves no partial update. */
  readonly read: (a: unknown) => void
  readonly fold: (acc: unknown) => unknown
  readonly init: () => unknown
  readonly result: (acc: unknown) => unknown
  readonly merge: (x: unknown, y: unknown) => unknown

  readonly fields: readonly Field[]
  constructor(fields: readonly (readonly [string, Field])[]) {
    this.fields = fields.map(([, f]) => f)
    const fast = straightLine(fields)
    this.init = fast.init
    this.result = fast.result
    this.read = fast.read
    this.fold = fast.fold
    this.merge = fast.merge
  }
}

/**
 * A record's `read` and `fold` as straight-line code (one statement per field, each call site
 * calling one function), generated once per stage: the per-event loop over fields otherwise costs
 * as much as the aggregation itself.
 */
function straightLine(named: readonly (readonly [string, Field])[]): Pick<CompiledAggregator, 'init' | 'read' | 'fold' | 'merge' | 'result'> {
  const fields = named.map(([, f]) => f)
  const n = fields.length
  // Quoted keys give the result record one fixed shape; `__proto__` must be computed, or it would set the prototype.
  const prop = (name: string) => (name === '__proto__' ? '["__proto__"]' : JSON.stringify(name))
  const idx = [...Array(n).keys()]
  const body = [
    `const ${idx.map((i) => `s${i} = steps[${i}], i${i} = inputs[${i}], n${i} = inits[${i}], r${i} = results[${i}], m${i} = merges[${i}] ?? noMerge`).join(', ')};`,
    `let ${idx.map((i) => `x${i}`).join(', ')};`,
    'return {',
    // One literal: every accumulator of the stage has the same shape, so each access is one load.
    `  init() { return { ${idx.map((i) => `a${i}: n${i}()`).join(', ')} } },`,
    `  read(a) { ${idx.map((i) => (fields[i].input === undefined ? '' : `x${i} = i${i}(a);`)).join(' ')} },`,
    `  fold(acc) { ${foldStatements(n)} return acc },`,
    // A new record, not `a` changed in place: a merge that throws on a later field leaves `a` whole.
    `  merge(a, b) { return { ${idx.map((i) => `a${i}: m${i}(a.a${i}, b.a${i})`).join(', ')} } },`,
    `  result(acc) { return { ${idx.map((i) => `${prop(named[i][0])}: r${i}(acc.a${i})`).join(', ')} } },`,
    '}',
  ].join('\n')
  return new Function('steps', 'inputs', 'inits', 'results', 'merges', 'noMerge', body)(
    fields.map((f) => f.step),
    fields.map((f) => f.input),
    fields.map((f) => f.init),
    fields.map((f) => f.result),
    fields.map((f) => f.merge),
    noMerge,
  ) as Pick<CompiledAggregator, 'init' | 'read' | 'fold' | 'merge' | 'result'>
}

/** Compiles `aggregate`'s spec: one aggregation, or a record of them giving a record per window. */
export function compileAggregator(spec: AggregateSpec): CompiledAggregator {
  if (isAggregator(spec) || isMonoid(spec)) return new SingleAggregator(field(spec))
  return new RecordAggregator(Object.entries(spec).map(([k, a]) => [k, field(a)] as const))
}
