import { isDeepStrictEqual, inspect } from 'node:util'
import type { Pipeline } from '../dsl/pipeline.ts'
import { toMillis, type Duration } from '../dsl/time.ts'
import { testPipeline } from './driver.ts'

/**
 * A marble test of a pipeline: input events and expected outputs laid out over frames. Each symbol
 * is one frame: `-` nothing happens, a letter an event (input) or a result (output), `|` the end of
 * input, and a group `(ab|)` several at one frame. Unlike RxJS marbles, a group is one frame
 * however long it is; spaces are ignored, so marbles can be lined up with them.
 */
export interface MarbleSpec<I, O> {
  /** The input over frames, e.g. `'a-b---c--|'`; each letter an event of `events`. */
  readonly input: string
  readonly events: Readonly<Record<string, I>>
  /** The results expected, frame by frame, e.g. `'------x--(y|)'`; each letter a value of `outputs`. */
  readonly output?: string
  readonly outputs?: Readonly<Record<string, O>>
  /** The input events expected to come out late, at the frame they arrived (letters of `events`). */
  readonly late?: string
  /** The input events expected to become dead letters, at the frame they arrived (letters of `events`). */
  readonly deadLetters?: string
  /** How long a frame is (default 1 ms). */
  readonly frame?: Duration
  /** Processing time of frame 0 (default 0). Frame `i` is at `origin + i * frame`. */
  readonly origin?: number
  /**
   * Sets an event's event time to its frame's time (e.g. `(e, t) => ({ ...e, ts: t })`), so the
   * marble is laid out in event time. Without it, events carry their own times and frames are
   * only when they arrive.
   */
  readonly stamp?: (event: I, time: number) => I
}

/** What a marble run gave: the same notation as the spec, and the values behind its letters. */
export interface MarbleResult<O> {
  readonly output: string
  readonly late: string
  readonly deadLetters: string
  /** Results that are no value of `outputs`, shown as `?1`, `?2`... in `output` order. */
  readonly unknown: readonly O[]
}

/** Thrown when a marble test fails: the message shows both marbles aligned, and the first differing frame. */
export class MarbleMismatch extends Error {
  override readonly name = 'MarbleMismatch'
}

interface Parsed {
  /** Letters per frame. */
  readonly frames: Map<number, string[]>
  /** The frame of `|`, if any. */
  readonly end: number | undefined
  /** One past the last frame. */
  readonly length: number
}

/** Reads a marble: which letters happen at which frame, and where the input ends. */
export function parseMarble(marble: string): Parsed {
  const frames = new Map<number, string[]>()
  let end: number | undefined
  let frame = 0
  let group: number | undefined
  for (const c of marble) {
    if (c === ' ') continue
    const at = group ?? frame
    if (c === '(') {
      if (group !== undefined) throw new SyntaxError(`marble ${JSON.stringify(marble)}: a group inside a group`)
      group = frame
      continue
    }
    if (c === ')') {
      if (group === undefined) throw new SyntaxError(`marble ${JSON.stringify(marble)}: ')' without '('`)
      group = undefined
    } else if (c === '|') end = at
    else if (c !== '-') {
      const list = frames.get(at)
      if (list === undefined) frames.set(at, [c])
      else list.push(c)
    }
    // A group is one frame, whatever its length.
    if (group === undefined) frame++
  }
  if (group !== undefined) throw new SyntaxError(`marble ${JSON.stringify(marble)}: '(' without ')'`)
  return { frames, end, length: frame }
}

/** What frame `f` of a marble shows: `-`, one symbol, or a group. */
function cell({ frames, end }: Parsed, f: number): string {
  const here = [...(frames.get(f) ?? []), ...(f === end ? ['|'] : [])]
  if (here.length === 0) return '-'
  return here.length === 1 && here[0].length === 1 ? here[0] : `(${here.join('')})`
}

/** Writes letters per frame as a marble, trailing empty frames left out. */
function render(m: Parsed): string {
  let s = ''
  for (let f = 0; f < m.length; f++) s += cell(m, f)
  return s.replace(/-+$/, '')
}

/** Several marbles written frame under frame (each frame as wide as its widest cell), and the column of frame `at`. */
function aligned(ms: readonly Parsed[], at: number): { readonly lines: string[]; readonly column: number } {
  const length = Math.max(...ms.map((m) => m.length))
  const lines = ms.map(() => '')
  let column = 0
  for (let f = 0; f < length; f++) {
    const cells = ms.map((m) => cell(m, f))
    const width = Math.max(...cells.map((c) => c.length))
    if (f === at) column = lines[0].length
    cells.forEach((c, i) => (lines[i] += c.padEnd(width, ' ')))
  }
  return { lines: lines.map((l) => l.trimEnd()), column }
}

const show = (x: unknown) => inspect(x, { depth: 6, breakLength: Number.POSITIVE_INFINITY, sorted: true })

/**
 * Runs a marble spec through a pipeline (see `expectMarbles`) and returns what came out, in the
 * same notation.
 */
export async function runMarbles<I, O, K>(p: Pipeline<I, O, K>, spec: MarbleSpec<I, O>): Promise<MarbleResult<O>> {
  const r = await play(p, spec)
  return { output: render(r.output), late: render(r.late), deadLetters: render(r.deadLetters), unknown: r.unknown }
}

/** What came out, as letters per frame. */
interface Played<O> {
  readonly output: Parsed
  readonly late: Parsed
  readonly deadLetters: Parsed
  readonly unknown: readonly O[]
}

async function play<I, O, K>(p: Pipeline<I, O, K>, spec: MarbleSpec<I, O>): Promise<Played<O>> {
  const frameMs = spec.frame === undefined ? 1 : toMillis(spec.frame, 'marbles frame')
  const origin = spec.origin ?? 0
  const input = parseMarble(spec.input)
  const d = testPipeline(p, { start: origin })
  /** The input letter of each source position. */
  const letterAt = new Map<number, string>()
  let sent = 0
  const frameOf = (at: number) => Math.max(0, Math.ceil((at - origin) / frameMs))
  const last = input.end ?? input.length - 1
  for (let f = 0; f <= last; f++) {
    const t = origin + f * frameMs
    d.advanceTimeTo(t)
    for (const letter of input.frames.get(f) ?? []) {
      if (!(letter in spec.events)) throw new SyntaxError(`marbles: input letter '${letter}' is not in events`)
      const e = spec.events[letter]
      d.send(spec.stamp === undefined ? e : spec.stamp(e, t))
      letterAt.set(++sent, letter)
      await d.settle()
    }
    if (f === input.end) {
      d.end()
      await d.settle()
    }
  }
  const outputs = Object.entries(spec.outputs ?? {})
  const unknown: O[] = []
  const out = new Map<number, string[]>()
  const add = (m: Map<number, string[]>, f: number, letter: string) => {
    const list = m.get(f)
    if (list === undefined) m.set(f, [letter])
    else list.push(letter)
  }
  for (const e of d.emitted.take()) {
    const known = outputs.find(([, v]) => isDeepStrictEqual(v, e.value))
    if (known !== undefined) add(out, frameOf(e.at), known[0])
    else {
      unknown.push(e.value)
      add(out, frameOf(e.at), `?${unknown.length}`)
    }
  }
  const sides = (items: readonly { readonly pos: number }[]) => {
    const m = new Map<number, string[]>()
    const sentAt = new Map(d.timeline.flatMap((x) => (x.kind === 'send' ? [[x.pos, x.at] as const] : [])))
    for (const x of items) add(m, frameOf(sentAt.get(x.pos) ?? origin), letterAt.get(x.pos) ?? '?')
    return m
  }
  const length = last + 1
  return {
    output: { frames: out, end: input.end, length },
    late: { frames: sides(d.late.take()), end: undefined, length },
    deadLetters: { frames: sides(d.deadLetters.take()), end: undefined, length },
    unknown,
  }
}

/**
 * Checks a pipeline against marbles: input events laid out over frames, and the results (and,
 * optionally, late events and dead letters) expected at each frame. Frame `i` is processing time
 * `origin + i * frame`; each frame the clock moves there (firing timers due) and its events go in;
 * a result belongs to the frame during which it came out. With `stamp`, events take their frame's
 * time as event time, so the marble reads in event time. Throws a `MarbleMismatch` showing both
 * marbles aligned, the first differing frame and the values there.
 *
 * @example
 * await expectMarbles(clicksPerMinute, {
 *   frame: '10s', stamp: (c, t) => ({ ...c, ts: t }),
 *   input:  'a-b---c--|',
 *   events: { a: { user: 'ann' }, b: { user: 'ann' }, c: { user: 'ann' } },
 *   output: '------x--(y|)',
 *   outputs: { x: { key: 'ann', window: { start: 0, end: 60_000 }, value: 2 }, y: { key: 'ann', window: { start: 60_000, end: 120_000 }, value: 1 } },
 * })
 */
export async function expectMarbles<I, O, K>(p: Pipeline<I, O, K>, spec: MarbleSpec<I, O>): Promise<void> {
  const got = await play(p, spec)
  const frameMs = spec.frame === undefined ? 1 : toMillis(spec.frame, 'marbles frame')
  const origin = spec.origin ?? 0
  const sides: [string, string | undefined, Parsed, Readonly<Record<string, unknown>>][] = [
    ['output', spec.output, got.output, spec.outputs ?? {}],
    ['late', spec.late, got.late, spec.events],
    ['deadLetters', spec.deadLetters, got.deadLetters, spec.events],
  ]
  for (const [name, expected, actual, values] of sides) {
    if (expected === undefined) continue
    const want = parseMarble(expected)
    const have = actual
    for (const letter of [...want.frames.values()].flat())
      if (!(letter in values)) throw new SyntaxError(`marbles: ${name} letter '${letter}' is not in ${name === 'output' ? 'outputs' : 'events'}`)
    const length = Math.max(want.length, have.length)
    const key = (m: Parsed, f: number) => [...(m.frames.get(f) ?? [])].sort().join('') + (m.end === f ? '|' : '')
    let f = 0
    while (f < length && key(want, f) === key(have, f)) f++
    if (f === length) continue
    const shown = aligned([parseMarble(spec.input), want, have], f)
    const lines = [
      `marbles: ${name} differs at frame ${f} (time ${origin + f * frameMs})`,
      `  input     ${shown.lines[0]}`,
      `  expected  ${shown.lines[1]}`,
      `  actual    ${shown.lines[2]}`,
      `            ${' '.repeat(shown.column)}^`,
    ]
    const describe = (m: Parsed) =>
      [
        ...(m.frames.get(f) ?? []).map((l) => `${l} = ${show(l.startsWith('?') ? got.unknown[Number(l.slice(1)) - 1] : values[l])}`),
        ...(m.end === f ? ['| (end of input)'] : []),
      ].join(', ') || 'nothing'
    lines.push(`  expected at frame ${f}: ${describe(want)}`, `  actual at frame ${f}:   ${describe(have)}`)
    if (got.unknown.length > 0) lines.push(`  results not in outputs: ${got.unknown.map((v, i) => `?${i + 1} = ${show(v)}`).join(', ')}`)
    throw new MarbleMismatch(lines.join('\n'))
  }
}

