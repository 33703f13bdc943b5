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
import { generate } from '../core/codegen.ts'

/**
 * An aggregation spec ready to run. `read(a)` runs the user's functions on one event (the only part
 * that throws for built-ins) and keeps what it read; `fold(acc)` adds that event to one window's
 * accumulator. An event in several windows (hopping, sliding) is read once and folded into each.
 */
export interface CompiledAggregator {
  /** The fields, for code generated per stage (see `inOrderPush.ts`); `single`: the accumulator is the one field's own. */
  readonly fields: readonly Field[]
  readonly single: boolean
  /** Some step may throw (a user `add` or monoid): only then does an event in several windows need `prepare`. */
  readonly mayThrow: boolean
  init(): unknown
  /** An empty accumulator, made from `acc` (in place where the fields allow): for accumulators that are recycled. */
  reset(acc: unknown): unknown
  read(a: unknown): void
  /**
   * `acc` with the event last read added (in place where the steps allow). Every step that may throw
   * (a user `add` or monoid) runs before any change, so one that throws leaves `acc` as it was.
   */
  fold(acc: unknown): unknown
  /**
   * `fold` in two halves, for an event that joins several windows: `prepare` runs the steps that may
   * throw for one window's `acc` and changes nothing; once every window is prepared, `commit` applies
   * them (and the built-ins' steps, which cannot throw). `commit(acc, prepare(acc))` is `fold(acc)`.
   */
  prepare(acc: unknown): unknown
  commit(acc: unknown, prepared: unknown): unknown
  /** The two accumulators as one; it may update `x` in place (a session merge starts from `init()`). */
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
  /** The step is a built-in's: it cannot throw (its input was read already), but it may update in place (`mean`). */
  readonly safe: boolean
}

/**
 * A record's fold, as statements over `acc` and the inputs read (`x0`, `x1`, ...) with steps `s0`,
 * `s1`, ...: the steps that may throw (user `add`s and monoids) run first, then the built-ins' (which
 * cannot throw, and may update in place), and only then is any field replaced. So a step that throws
 * leaves the whole accumulator as it was, however many fields may throw.
 */
export const foldStatements = (fields: readonly Field[]): string => {
  const order = [...unsafeFirst(fields)]
  return `const ${order.map((i) => `y${i} = s${i}(acc.a${i}, x${i})`).join(', ')}; ${order.map((i) => `acc.a${i} = y${i};`).join(' ')}`
}

/** Field indexes, those whose step may throw first. */
const unsafeFirst = (fields: readonly Field[]): number[] => {
  const idx = [...fields.keys()]
  return [...idx.filter((i) => !fields[i].safe), ...idx.filter((i) => fields[i].safe)]
}

const identity = (x: unknown) => x

function field(a: AggregationLike): Field {
  if (isMonoid(a)) {
    const M = a as Monoid<unknown>
    const concat = (x: unknown, y: unknown) => M.concat(x, y)
    return { input: identity, step: concat, init: () => M.empty, merge: concat, result: identity, safe: false }
  }
  const agg = a as Aggregator<unknown, unknown, unknown>
  const staged = (agg as { [STAGED]?: Staged<unknown, unknown, unknown> })[STAGED]
  return staged !== undefined
    ? { input: staged.input, step: staged.step, init: agg.init, merge: agg.merge, result: agg.result, safe: true }
    : { input: identity, step: agg.add, init: agg.init, merge: agg.merge, result: agg.result, safe: false }
}

const noMerge = (): never => {
  throw new TypeError('aggregate: this aggregation has no merge (session windows need one)')
}

class SingleAggregator implements CompiledAggregator {
  private x: unknown = undefined
  readonly fields: readonly Field[]
  readonly single = true
  readonly mayThrow: boolean
  constructor(private readonly f: Field) {
    this.fields = [f]
    this.mayThrow = !f.safe
  }
  init(): unknown {
    return this.f.init()
  }
  reset(_acc: unknown): unknown {
    return this.f.init()
  }
  read(a: unknown): void {
    const input = this.f.input
    this.x = input === undefined ? undefined : input(a)
  }
  fold(acc: unknown): unknown {
    return this.f.step(acc, this.x)
  }
  prepare(acc: unknown): unknown {
    return this.f.safe ? undefined : this.f.step(acc, this.x)
  }
  commit(acc: unknown, prepared: unknown): unknown {
    return this.f.safe ? this.f.step(acc, this.x) : prepared
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
  readonly prepare: (acc: unknown) => unknown
  readonly commit: (acc: unknown, prepared: unknown) => unknown
  readonly init: () => unknown
  readonly reset: (acc: unknown) => unknown
  readonly result: (acc: unknown) => unknown
  readonly merge: (x: unknown, y: unknown) => unknown

  readonly fields: readonly Field[]
  readonly mayThrow: boolean
  constructor(fields: readonly (readonly [string, Field])[]) {
    this.fields = fields.map(([, f]) => f)
    this.mayThrow = this.fields.some((f) => !f.safe)
    const fast = straightLine(fields)
    this.init = fast.init
    this.reset = fast.reset
    this.result = fast.result
    this.read = fast.read
    this.fold = fast.fold
    this.prepare = fast.prepare
    this.commit = fast.commit
    this.merge = fast.merge
  }
}

/** What `straightLine` generates: a record aggregator's functions. */
type Generated = Pick<CompiledAggregator, 'init' | 'reset' | 'read' | 'fold' | 'prepare' | 'commit' | 'merge' | 'result'>

/**
 * A record's `read` and `fold` as straight-line code (one statement per field, each call site
 * calling one function), generated once per stage (see codegen.ts): the per-event loop over fields
 * otherwise costs as much as the aggregation itself.
 */
function straightLine(named: readonly (readonly [string, Field])[]): Generated {
  const fields = named.map(([, f]) => f)
  const n = fields.length
  const unsafe = fields.flatMap((f, i) => (f.safe ? [] : [i]))
  const safe = fields.flatMap((f, i) => (f.safe ? [i] : []))
  // Quoted keys give the result record one fixed shape; `__proto__` must be computed, or it would set the prototype.
  const prop = (name: string) => (name === '__proto__' ? '["__proto__"]' : JSON.stringify(name))
  const idx = [...Array(n).keys()]
  const body = [
    `const ${idx.map((i) => `s${i} = steps[${i}], i${i} = inputs[${i}], n${i} = inits[${i}], r${i} = results[${i}], m${i} = merges[${i}] ?? noMerge`).join(', ')};`,
    `let ${idx.map((i) => `x${i}`).join(', ')};`,
    'return {',
    // One literal: every accumulator of the stage has the same shape, so each access is one load.
    `  init() { return { ${idx.map((i) => `a${i}: n${i}()`).join(', ')} } },`,
    `  reset(acc) { ${idx.map((i) => `acc.a${i} = n${i}();`).join(' ')} return acc },`,
    `  read(a) { ${idx.map((i) => (fields[i].input === undefined ? '' : `x${i} = i${i}(a);`)).join(' ')} },`,
    `  fold(acc) { ${foldStatements(fields)} return acc },`,
    // The user steps' new values, in an array only when there are any.
    `  prepare(acc) { return ${unsafe.length === 0 ? 'undefined' : `[${unsafe.map((i) => `s${i}(acc.a${i}, x${i})`).join(', ')}]`} },`,
    `  commit(acc, p) { ${[...safe.map((i) => `acc.a${i} = s${i}(acc.a${i}, x${i});`), ...unsafe.map((i, k) => `acc.a${i} = p[${k}];`)].join(' ')} return acc },`,
    `  merge(a, b) { ${idx.map((i) => `a.a${i} = m${i}(a.a${i}, b.a${i});`).join(' ')} return a },`,
    `  result(acc) { return { ${idx.map((i) => `${prop(named[i][0])}: r${i}(acc.a${i})`).join(', ')} } },`,
    '}',
  ].join('\n')
  return generate('recordAggregator', ['steps', 'inputs', 'inits', 'results', 'merges', 'noMerge'], body)(
    fields.map((f) => f.step),
    fields.map((f) => f.input),
    fields.map((f) => f.init),
    fields.map((f) => f.result),
    fields.map((f) => f.merge),
    noMerge,
  ) as Generated
}

/** Compiles `aggregate`'s spec: one aggregation, or a record of them giving a record per window. */
export function compileAggregator(spec: AggregateSpec): CompiledAggregator {
  if (isAggregator(spec) || isMonoid(spec)) return new SingleAggregator(field(spec))
  return new RecordAggregator(Object.entries(spec).map(([k, a]) => [k, field(a)] as const))
}
