import { inspect } from 'node:util'
import { PipelineDriver, type TimelineEntry } from './driver.ts'

/** The part of a test framework's matcher context the matchers use (vitest's and jest's have it). */
interface MatcherContext {
  readonly isNot: boolean
  equals(a: unknown, b: unknown): boolean
}

interface MatcherResult {
  readonly pass: boolean
  readonly message: () => string
}

const show = (x: unknown) => inspect(x, { depth: 5, breakLength: Number.POSITIVE_INFINITY, sorted: true })

/** One line of a timeline: processing time, then what happened. */
export function describeEntry(e: TimelineEntry<unknown>): string {
  const at = `t=${e.at}`.padEnd(16)
  switch (e.kind) {
    case 'send':
      return `${at}send #${e.pos} ${show(e.event)}`
    case 'skip':
      return `${at}skip (topic ${e.topic}) ${show(e.event)}`
    case 'time':
      return `${at}clock moves`
    case 'watermark':
      return `${at}watermark ${e.time}`
    case 'out':
      return `${at}out ${show(e.emitted.value)} (from #${e.emitted.pos})`
    case 'late':
      return `${at}late #${e.late.pos} ${show(e.late.value)} (watermark ${e.late.watermark})`
    case 'dead':
      return `${at}dead letter #${e.deadLetter.pos} (${e.deadLetter.reason}) ${e.deadLetter.message}`
    case 'end':
      return `${at}end of input`
  }
}

/** The timeline around entry `i` (`radius` entries either side), the entry itself marked. */
function around(timeline: readonly TimelineEntry<unknown>[], i: number, radius = 6): string {
  const from = Math.max(0, i - radius)
  const to = Math.min(timeline.length, i + radius + 1)
  const lines = timeline.slice(from, to).map((e, j) => `${from + j === i ? '>' : ' '} ${describeEntry(e)}`)
  if (i >= timeline.length) lines.push('> (nothing more happened)')
  return [from > 0 ? `  ... ${from} earlier` : undefined, ...lines, to < timeline.length ? `  ... ${timeline.length - to} later` : undefined]
    .filter((l) => l !== undefined)
    .join('\n')
}

/**
 * Compares what a driver has produced on one side with what was expected, taking it (as `take()`);
 * on failure, the message shows the timeline around the first difference.
 */
function taken(
  ctx: MatcherContext,
  driver: unknown,
  expected: readonly unknown[],
  what: string,
  take: (d: PipelineDriver<unknown, unknown>) => unknown[],
  kind: TimelineEntry<unknown>['kind'],
): MatcherResult {
  if (!(driver instanceof PipelineDriver)) return { pass: false, message: () => `expected a test driver (testPipeline(p)), got ${show(driver)}` }
  const d = driver as PipelineDriver<unknown, unknown>
  // Where the values about to be taken start in the timeline: after every earlier one of this kind.
  const all = d.timeline.flatMap((e, i) => (e.kind === kind ? [i] : []))
  const got = take(d)
  const first = all.length - got.length
  const pass = ctx.equals(got, expected)
  let k = 0
  while (k < got.length && k < expected.length && ctx.equals(got[k], expected[k])) k++
  const at = k < got.length ? all[first + k] : d.timeline.length
  return {
    pass,
    message: () =>
      ctx.isNot
        ? `expected the pipeline not to have ${what} ${show(expected)}, but it did`
        : [
            `expected the pipeline to have ${what}:`,
            `  ${show(expected)}`,
            `but it ${what}:`,
            `  ${show(got)}`,
            `first difference at #${k + 1}: expected ${k < expected.length ? show(expected[k]) : 'nothing'}, got ${k < got.length ? show(got[k]) : 'nothing'}`,
            'timeline:',
            around(d.timeline, at),
          ].join('\n'),
  }
}

/**
 * Matchers for vitest or jest: `expect.extend(pipelineMatchers)`, then
 * `expect(driver).toHaveEmitted([...])` / `toHaveLate([...])`. Each takes what the driver produced
 * since the last take (as `takeOutput()` / `late.take()`), compares it with `equals`, and on failure
 * prints the event timeline around the first difference: the sends, watermarks, outputs and side
 * outputs that led to it. For types, declare them on vitest's `Assertion` (see docs/testing-pipelines.md).
 *
 * @example
 * expect.extend(pipelineMatchers)
 * d.send(click).advanceWatermarkTo(60_000)
 * expect(d).toHaveEmitted([{ key: 'ann', window: { start: 0, end: 60_000 }, value: 1 }])
 */
export const pipelineMatchers = {
  /** The output values since the last take are `expected`, in order. */
  toHaveEmitted(this: MatcherContext, driver: unknown, expected: readonly unknown[]): MatcherResult {
    return taken(this, driver, expected, 'emitted', (d) => d.takeOutput(), 'out')
  },
  /** The late events' values since the last take are `expected`, in order. */
  toHaveLate(this: MatcherContext, driver: unknown, expected: readonly unknown[]): MatcherResult {
    return taken(this, driver, expected, 'sent late', (d) => d.late.take().map((l) => l.value), 'late')
  },
}
