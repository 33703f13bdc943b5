/**
 * Property suite for patterns: the matcher against a brute-force search written from the semantics
 * in dsl/patterns.ts, against JavaScript regular expressions for strictly contiguous patterns,
 * order-insensitivity within the watermark bound, and the query index against a linear scan.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { from, lastValueFrom, toArray } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../dsl/compile.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { keyBy } from '../dsl/stages.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { match, pattern, type Match, type NegatedPattern, type Pattern, type SkipStrategy, type Timeout } from '../dsl/patterns.ts'
import { QueryIndex, type Query, type QueryId } from '../operators/patterns/queryIndex.ts'

const SEED = 5150
/** Runs a property with the fixed seed; fast-check's failure message carries the seed and the shrunk path. */
const check = async (prop: fc.IRawProperty<any, boolean>, numRuns: number): Promise<void> => {
  await fc.assert(prop, { seed: SEED, numRuns })
}

// ---- Events and pattern descriptions (one description drives the builder and the oracle) -----

interface Ev {
  readonly k: number
  readonly t: number
  readonly c: string
  /** Position in its key's event-time order. */
  readonly i: number
}

/** A predicate: the letter is in `set`, or equals the last letter taken by step `same`. */
type PredDesc = { readonly set: string } | { readonly same: number }

interface PosDesc {
  readonly how: 'next' | 'followedBy'
  readonly pred: PredDesc
  readonly min: number
  readonly max: number
  readonly optional: boolean
  readonly repeat: 'strict' | 'relaxed'
  /** notFollowedBy steps declared right after this step. */
  readonly negs: readonly PredDesc[]
}

interface PatDesc {
  readonly steps: readonly PosDesc[]
  readonly within: number | undefined
}

const name = (j: number) => `s${j}`
const negName = (j: number, n: number) => `n${j}_${n}`

type Matched = Readonly<Record<string, readonly Ev[]>>
const holds = (p: PredDesc, e: Ev, m: Matched): boolean => {
  if ('set' in p) return p.set.includes(e.c)
  const xs = m[name(p.same)]
  return xs.length > 0 && xs[xs.length - 1].c === e.c
}

const letters = fc.constantFrom('a', 'b', 'c')
const setArb = fc.constantFrom('a', 'b', 'c', 'ab', 'bc', 'ac')

const predArb = (j: number, allowSame: boolean): fc.Arbitrary<PredDesc> =>
  allowSame ? fc.oneof({ weight: 4, arbitrary: setArb.map((set) => ({ set })) }, { weight: 1, arbitrary: fc.nat(j).map((same) => ({ same })) }) : setArb.map((set) => ({ set }))

const quantArb = fc.constantFrom(
  { min: 1, max: 1 },
  { min: 1, max: 1 },
  { min: 2, max: 2 },
  { min: 1, max: Number.POSITIVE_INFINITY },
  { min: 2, max: Number.POSITIVE_INFINITY },
)

const stepArb = (j: number, opts: { strictOnly: boolean; negations: boolean; sameRefs: boolean }): fc.Arbitrary<PosDesc> =>
  fc.record({
    how: opts.strictOnly ? fc.constant('next' as const) : fc.constantFrom('next' as const, 'followedBy' as const),
    pred: predArb(j, opts.sameRefs),
    q: quantArb,
    optional: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    repeat: opts.strictOnly ? fc.constant('strict' as const) : fc.constantFrom('strict' as const, 'relaxed' as const),
    negs: opts.negations ? fc.array(predArb(j, opts.sameRefs), { maxLength: 1 }) : fc.constant([]),
  }).map(({ how, pred, q, optional, repeat, negs }) => ({ how, pred, min: q.min, max: q.max, optional, repeat, negs }))

const patArb = (opts: { strictOnly: boolean; negations: boolean; sameRefs: boolean; maxSteps: number }): fc.Arbitrary<PatDesc> =>
  fc
    .integer({ min: 1, max: opts.maxSteps })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, j) => stepArb(j, opts))))
    .chain((steps) => fc.record({ steps: fc.constant(steps), within: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) }))

/** Builds the pattern with the public builder. */
function build(d: PatDesc): Pattern<Ev, string> | NegatedPattern<Ev, string> {
  const fn = (p: PredDesc) => (e: Ev, m: Matched) => holds(p, e, m)
  let b: any = pattern<Ev>()
  d.steps.forEach((s, j) => {
    b = j === 0 ? b.begin(name(j), fn(s.pred)) : b[s.how](name(j), fn(s.pred))
    if (s.max === Number.POSITIVE_INFINITY) b = (s.min > 1 ? b.times(s.min, { contiguity: s.repeat }) : b).oneOrMore({ contiguity: s.repeat })
    else if (s.min > 1) b = b.times(s.min, { contiguity: s.repeat })
    if (s.optional) b = b.optional()
    s.negs.forEach((n, k) => (b = b.notFollowedBy(negName(j, k), fn(n))))
  })
  if (d.within !== undefined) b = b.within(d.within)
  return b
}

/** Per key: events with distinct, increasing times (gaps 1..3), letters from a small alphabet. */
const keyEventsArb = (maxLen: number) =>
  fc.array(fc.tuple(letters, fc.integer({ min: 1, max: 3 })), { maxLength: maxLen }).map((xs) => {
    let t = 0
    return xs.map(([c, gap]) => ({ c, t: (t += gap) }))
  })

const inputArb = (maxLen: number) =>
  fc.array(keyEventsArb(maxLen), { minLength: 1, maxLength: 2 }).map((keys) =>
    keys.flatMap((evs, k) => evs.map((e, i): Ev => ({ k, t: e.t, c: e.c, i }))).sort((a, b) => a.t - b.t || a.k - b.k),
  )

// ---- The brute-force oracle, written from the definitions in dsl/patterns.ts ------------------

interface PartialMatch {
  readonly idx: number[]
  readonly step: number[]
}

function matchedOf(evs: readonly Ev[], idx: readonly number[], step: readonly number[], upto: number, n: number): Matched {
  const m: Record<string, Ev[]> = {}
  for (let j = 0; j < n; j++) m[name(j)] = []
  for (let k = 0; k < upto; k++) m[name(step[k])].push(evs[idx[k]])
  return m
}

/** notFollowedBy predicates declared between positive steps `from` and `to` (from after `from` up to before `to`). */
const negsBetween = (d: PatDesc, from: number, to: number): PredDesc[] => d.steps.slice(from, to).flatMap((s) => s.negs)

const countOk = (s: PosDesc, c: number) => (c === 0 ? s.optional : c >= s.min && c <= s.max)

/** Every sequence of (event, step) pairs, steps non-decreasing, that is a partial match. */
function partials(d: PatDesc, evs: readonly Ev[]): PartialMatch[] {
  const n = d.steps.length
  const out: PartialMatch[] = []
  const idx: number[] = []
  const step: number[] = []
  const valid = (): boolean => {
    const L = idx.length
    const last = step[L - 1]
    const counts = d.steps.map((_, j) => step.filter((s) => s === j).length)
    for (let j = 0; j < last; j++) if (!countOk(d.steps[j], counts[j])) return false
    if (counts[last] > d.steps[last].max) return false
    for (let k = 0; k < L; k++) {
      const m = matchedOf(evs, idx, step, k, n)
      const s = d.steps[step[k]]
      if (!holds(s.pred, evs[idx[k]], m)) return false
      if (k === 0) continue
      const entering = step[k - 1] !== step[k]
      const strict = entering ? s.how === 'next' : s.repeat === 'strict'
      if (strict) {
        if (idx[k] !== idx[k - 1] + 1) return false
      } else {
        const negs = negsBetween(d, step[k - 1], step[k])
        for (let z = idx[k - 1] + 1; z < idx[k]; z++) {
          if (holds(s.pred, evs[z], m)) return false
          if (negs.some((p) => holds(p, evs[z], m))) return false
        }
      }
    }
    if (d.within !== undefined && evs[idx[L - 1]].t - evs[idx[0]].t > d.within) return false
    return true
  }
  const go = (from: number, minStep: number) => {
    for (let i = from; i < evs.length; i++)
      for (let j = minStep; j < n; j++) {
        idx.push(i)
        step.push(j)
        // Validity is prefix-closed, so an invalid prefix ends the branch.
        if (valid()) {
          out.push({ idx: [...idx], step: [...step] })
          go(i + 1, j)
        }
        idx.pop()
        step.pop()
      }
  }
  go(0, 0)
  return out
}

interface OracleOut {
  readonly kind: 'M' | 'T'
  readonly p: PartialMatch
  /** Event-time point that completes it, then phase (0: at an event, 1: at a deadline), then order. */
  readonly at: readonly number[]
}

const lex = (a: PartialMatch, b: PartialMatch): number => {
  for (let k = 0; k < Math.min(a.idx.length, b.idx.length); k++) {
    if (a.idx[k] !== b.idx[k]) return a.idx[k] - b.idx[k]
    if (a.step[k] !== b.step[k]) return a.step[k] - b.step[k]
  }
  return a.idx.length - b.idx.length
}

function oracle(d: PatDesc, evs: readonly Ev[], skip: SkipStrategy, timeouts: boolean): string[] {
  const n = d.steps.length
  const outs: OracleOut[] = []
  for (const p of partials(d, evs)) {
    const L = p.idx.length
    const last = p.step[L - 1]
    const count = p.step.filter((s) => s === last).length
    const start = evs[p.idx[0]].t
    const deadline = d.within === undefined ? Number.POSITIVE_INFINITY : start + d.within
    const m = matchedOf(evs, p.idx, p.step, L, n)
    // Events after the partial match's last one, up to its deadline.
    const gap = evs.slice(p.idx[L - 1] + 1).filter((e) => e.t <= deadline)
    const complete = count >= d.steps[last].min && d.steps.slice(last + 1).every((s) => s.optional)
    const tail = negsBetween(d, last, n)
    if (complete && tail.length === 0) {
      outs.push({ kind: 'M', p, at: [evs[p.idx[L - 1]].t, 0, 0] })
      continue
    }
    if (complete && !gap.some((e) => tail.some((q) => holds(q, e, m)))) {
      outs.push({ kind: 'M', p, at: [deadline, 1, 0] })
      continue
    }
    if (!timeouts || d.within === undefined) continue
    // Still able to take events at its deadline: some way on is not ruled out by the gap.
    const clear = (strict: boolean, pred: PredDesc, negs: PredDesc[]) =>
      strict ? gap.length === 0 : gap.every((e) => !holds(pred, e, m) && !negs.some((q) => holds(q, e, m)))
    let alive = count < d.steps[last].max && clear(d.steps[last].repeat === 'strict', d.steps[last].pred, [])
    if (count >= d.steps[last].min)
      for (let j = last + 1; j < n && !alive; j++) {
        alive = clear(d.steps[j].how === 'next', d.steps[j].pred, negsBetween(d, last, j))
        if (!d.steps[j].optional) break
      }
    if (alive) outs.push({ kind: 'T', p, at: [deadline, 1, 1] })
  }
  outs.sort((a, b) => {
    for (let k = 0; k < 3; k++) if (a.at[k] !== b.at[k]) return a.at[k] - b.at[k]
    return a.p.idx[0] - b.p.idx[0] || lex(a.p, b.p)
  })
  let barrier = -1
  const shown: string[] = []
  for (const o of outs) {
    if (skip === 'skipPastLastEvent' && o.p.idx[0] <= barrier) continue
    shown.push(`${o.kind}:${o.p.idx.map((i, k) => `${i}${name(o.p.step[k])}`).join(' ')}`)
    if (o.kind === 'M' && skip === 'skipPastLastEvent') barrier = o.p.idx[o.p.idx.length - 1]
  }
  return shown
}

// ---- Running the operator -------------------------------------------------------------------

type Out = Match<Ev, string, number> | Timeout<Ev, string, number>

const render = (o: Out): string => {
  const taken = Object.entries(o.events).flatMap(([step, es]) => es.map((e) => ({ i: e.i, step })))
  taken.sort((a, b) => a.i - b.i)
  return `${o._tag === 'Match' ? 'M' : 'T'}:${taken.map((x) => `${x.i}${x.step}`).join(' ')}`
}

async function runMatch(
  p: Pattern<Ev, string> | NegatedPattern<Ev, string>,
  input: readonly Ev[],
  skip: SkipStrategy,
  timeouts: boolean,
  delay = 0,
): Promise<{ byKey: Map<number, string[]>; late: number }> {
  let late = 0
  const pl = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(delay) }, (s) =>
    pipe(
      s,
      keyBy((e) => e.k),
      // Generated patterns: whether they have `within` is data here, not a type (the matcher checks it).
      match(p as Pattern<Ev, string, string, true> | NegatedPattern<Ev, string, string, true>, { skip, timeouts } as { skip: SkipStrategy; timeouts: true }),
    ),
  )
  const out = (await lastValueFrom(from(input).pipe(compile(pl, { onLate: () => late++ }), toArray()))) as Out[]
  const byKey = new Map<number, string[]>()
  for (const o of out) byKey.set(o.key, [...(byKey.get(o.key) ?? []), render(o)])
  return { byKey, late }
}

const keysOf = (input: readonly Ev[]) => [...new Set(input.map((e) => e.k))]
const eventsOf = (input: readonly Ev[], k: number) => input.filter((e) => e.k === k)

describe('patterns: the matcher against a brute-force search', () => {
  for (const skip of ['noSkip', 'skipPastLastEvent'] as const) {
    it(`finds exactly the oracle's matches and timeouts, in order (${skip})`, async () => {
      await check(
        fc.asyncProperty(patArb({ strictOnly: false, negations: true, sameRefs: true, maxSteps: 3 }), inputArb(8), async (d, input) => {
          const timeouts = d.within !== undefined
          const { byKey } = await runMatch(build(d), input, skip, timeouts)
          for (const k of keysOf(input)) expect(byKey.get(k) ?? []).toEqual(oracle(d, eventsOf(input, k), skip, timeouts))
        }),
        400,
      )
    })
  }
})

describe('patterns: strict contiguity against regular expressions', () => {
  const regexOf = (d: PatDesc): RegExp =>
    new RegExp(
      `^(?:${d.steps
        .map((s) => {
          const cls = `[${(s.pred as { set: string }).set}]`
          const q = s.max === Number.POSITIVE_INFINITY ? `{${s.min},}` : `{${s.min}}`
          return s.optional ? `(?:${cls}${q})?` : `${cls}${q}`
        })
        .join('')})$`,
    )
  const spans = (d: PatDesc, evs: readonly Ev[]): [number, number][] => {
    const re = regexOf(d)
    const s = evs.map((e) => e.c).join('')
    const out: [number, number][] = []
    for (let j = 0; j < evs.length; j++)
      for (let i = 0; i <= j; i++)
        if (re.test(s.slice(i, j + 1)) && (d.within === undefined || evs[j].t - evs[i].t <= d.within)) out.push([i, j])
    return out
  }
  const spanOf = (r: string): [number, number] => {
    const is = r.slice(2).split(' ').map((x) => parseInt(x, 10))
    return [is[0], is[is.length - 1]]
  }

  it('noSkip: a span matches iff the regular expression matches that substring', async () => {
    await check(
      fc.asyncProperty(patArb({ strictOnly: true, negations: false, sameRefs: false, maxSteps: 3 }), inputArb(9), async (d, input) => {
        const { byKey } = await runMatch(build(d), input, 'noSkip', false)
        for (const k of keysOf(input)) {
          const got = new Set((byKey.get(k) ?? []).map((r) => spanOf(r).join('-')))
          expect([...got].sort()).toEqual(spans(d, eventsOf(input, k)).map((s) => s.join('-')).sort())
        }
      }),
      300,
    )
  })

  it('skipPastLastEvent: at each end, the earliest start after the previous match', async () => {
    await check(
      fc.asyncProperty(patArb({ strictOnly: true, negations: false, sameRefs: false, maxSteps: 3 }), inputArb(9), async (d, input) => {
        const { byKey } = await runMatch(build(d), input, 'skipPastLastEvent', false)
        for (const k of keysOf(input)) {
          const all = spans(d, eventsOf(input, k))
          const expected: string[] = []
          let barrier = -1
          for (let j = 0; j < eventsOf(input, k).length; j++) {
            const first = all.find(([i, e]) => e === j && i > barrier)
            if (first) {
              expected.push(first.join('-'))
              barrier = j
            }
          }
          expect((byKey.get(k) ?? []).map((r) => spanOf(r).join('-'))).toEqual(expected)
        }
      }),
      300,
    )
  })
})

describe('patterns: order-insensitivity within the watermark bound', () => {
  it('any arrival order with delays <= d gives the same matches and timeouts per key, and nothing late', async () => {
    const bound = 4
    const arb = fc
      .tuple(patArb({ strictOnly: false, negations: true, sameRefs: true, maxSteps: 3 }), inputArb(8))
      .chain(([d, input]) =>
        fc.tuple(fc.constant(d), fc.constant(input), fc.array(fc.tuple(fc.integer({ min: 0, max: bound }), fc.nat()), {
          minLength: input.length,
          maxLength: input.length,
        })),
      )
    await check(
      fc.asyncProperty(arb, fc.constantFrom('noSkip' as const, 'skipPastLastEvent' as const), async ([d, input, delays], skip) => {
        const shuffled = input
          .map((e, n) => ({ e, arrival: e.t + delays[n][0], tie: delays[n][1] }))
          .sort((a, b) => a.arrival - b.arrival || a.tie - b.tie)
          .map((x) => x.e)
        const timeouts = d.within !== undefined
        const inOrder = await runMatch(build(d), input, skip, timeouts, bound)
        const disordered = await runMatch(build(d), shuffled, skip, timeouts, bound)
        expect(disordered.late).toBe(0)
        expect(disordered.byKey).toEqual(inOrder.byKey)
      }),
      200,
    )
  })
})

describe('QueryIndex: the index returns what a linear scan over all queries returns', () => {
  interface Row {
    readonly a: number
    readonly b: string
    readonly c: boolean | null
  }
  type Cmd =
    | { readonly op: 'add'; readonly id: number; readonly q: { where: Partial<Row>; pred: number | undefined } }
    | { readonly op: 'remove'; readonly id: number }
    | { readonly op: 'match'; readonly e: Row }

  const rowArb = fc.record({ a: fc.integer({ min: 0, max: 3 }), b: fc.constantFrom('x', 'y', 'z'), c: fc.constantFrom(true, false, null) })
  const whereArb = fc.record(
    { a: fc.integer({ min: 0, max: 3 }), b: fc.constantFrom('x', 'y', 'z'), c: fc.constantFrom(true, false, null) },
    { requiredKeys: [] },
  )
  const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), id: fc.nat(30), q: fc.record({ where: whereArb, pred: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }) }),
    fc.record({ op: fc.constant('remove' as const), id: fc.nat(30) }),
    fc.record({ op: fc.constant('match' as const), e: rowArb }),
  )
  // The predicate "a >= k" stands for any extra condition.
  const predOf = (k: number | undefined) => (k === undefined ? undefined : (r: Row) => r.a >= k)

  it('for any sequence of adds, removes and events', async () => {
    await check(
      fc.property(fc.array(cmdArb, { maxLength: 80 }), (cmds) => {
        const index = new QueryIndex<Row>()
        const live = new Map<QueryId, Query<Row>>()
        for (const cmd of cmds) {
          if (cmd.op === 'add') {
            const q: Query<Row> = { where: cmd.q.where, predicate: predOf(cmd.q.pred) }
            index.add(cmd.id, q)
            live.set(cmd.id, q)
          } else if (cmd.op === 'remove') expect(index.remove(cmd.id)).toBe(live.delete(cmd.id))
          else {
            const scan = [...live]
              .filter(([, q]) => Object.entries(q.where ?? {}).every(([f, v]) => cmd.e[f as keyof Row] === v) && (q.predicate?.(cmd.e) ?? true))
              .map(([id]) => id)
            const got = index.match(cmd.e)
            expect(new Set(got).size).toBe(got.length)
            expect([...got].sort()).toEqual(scan.sort())
          }
          expect(index.size).toBe(live.size)
        }
      }),
      500,
    )
  })
})
