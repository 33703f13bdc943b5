import { describe, expect, expectTypeOf, it } from 'vitest'
import { join } from 'node:path'
import { pipe } from 'fp-ts/function'
import ts from 'typescript'
import { diagnosticsOf, projectOptions } from '../scripts/inMemoryProgram.ts'
import { aggregate, boundedOutOfOrder, count, keyBy, match, mean, pattern, pipeline, run, session, tableJoin, tumbling, window, windowJoin, Table } from 'weirjs'
import type { Stream, WindowResult } from 'weirjs'

/**
 * Types that guide: aggregation selectors are typed from the stream; a stage applied where it cannot
 * go is a compile error whose last line says what is missing and how to fix it (a branded error
 * type); a path where a source goes does not type-check. The `@ts-expect-error` lines are checked by `tsc`; the messages by compiling the same
 * mistakes here.
 */
type Flight = { origin: string; dest: string; delay: number; at: number }
const opts = { eventTime: (f: Flight) => f.at, watermark: boundedOutOfOrder('1h') }
const late = pattern<Flight>().begin('late', (f) => f.delay > 15)

describe('types that guide', () => {
  it('type the selectors of aggregations from the windowed stream', () => {
    const p = pipeline(opts, (s) => pipe(s, keyBy((f) => f.origin), window(tumbling('1h')), aggregate({ n: count, avg: mean((f) => f.delay) })))
    expectTypeOf(p.output).toEqualTypeOf<Stream<WindowResult<string, { readonly n: number; readonly avg: number }>, string>>()
    const one = pipeline(opts, (s) => pipe(s, keyBy((f) => f.origin), window(session('1h')), aggregate(mean((f) => f.delay))))
    expectTypeOf(one.output).toEqualTypeOf<Stream<WindowResult<string, number>, string>>()
    const typos = () =>
      // @ts-expect-error Flight has no 'delya': the selector's argument is a Flight, not any
      pipeline(opts, (s) => pipe(s, keyBy((f) => f.origin), window(tumbling('1h')), aggregate({ n: count, avg: mean((f) => f.delya) })))
    expect(typos).toBeTypeOf('function')
  })

  it('reject keyed-only stages on an unkeyed stream, aggregate without window, and a path given to run', () => {
    // Type-checked, not run: the stages would build a plan before failing.
    const mistakes = () =>
      pipeline(opts, (s) => {
        // @ts-expect-error window needs a keyed stream: add keyBy first
        pipe(s, window(tumbling('1h')))
        // @ts-expect-error aggregate needs a windowed stream: add window(...) first
        pipe(s, keyBy((f) => f.origin), aggregate(count))
        // @ts-expect-error match needs a keyed stream: add keyBy first
        pipe(s, match(late))
        // @ts-expect-error windowJoin needs a keyed stream: add keyBy first
        pipe(s, windowJoin(pipe(s, keyBy((f) => f.dest)), { within: '1h' }))
        // @ts-expect-error tableJoin needs both sides keyed by the same key type
        pipe(s, keyBy((f) => f.delay), tableJoin(new Table<string, string>()))
        return s
      })
    expect(mistakes).toBeTypeOf('function')
    const p = pipeline(opts, (s) => s)
    // @ts-expect-error run takes a source, not a path: run(p, fromLog(path)) replays a recorded log
    return expect(run(p, 'flights.ndjson')).rejects.toThrow(
      'run: got the string "flights.ndjson" where a source goes; for a recorded log, use run(p, fromLog("flights.ndjson"))',
    )
  })

  it('fail at once with the fix when the types were bypassed: aggregate without window', () => {
    pipeline(opts, (s) => {
      const stage = aggregate(count) as (x: unknown) => unknown
      expect(() => stage(pipe(s, keyBy((f) => f.origin)))).toThrow('aggregate: expected a windowed stream (add window(...) before aggregate)')
      return s
    })
  })

  it('say what is missing and how to fix it, in the last line of the error', () => {
    const mistakes: Record<string, string> = {
      'window needs a keyed stream: add keyBy first': `pipe(s, window(tumbling('1h')))`,
      'aggregate needs a windowed stream: add window(...) first': `pipe(s, keyBy((f) => f.origin), aggregate(count))`,
      'match needs a keyed stream: add keyBy first': `pipe(s, match(late))`,
      'windowJoin needs a keyed stream: add keyBy first': `pipe(s, windowJoin(pipe(s, keyBy((f) => f.dest)), { within: '1h' }))`,
      'tableJoin needs both sides keyed by the same key type': `pipe(s, keyBy((f) => f.delay), tableJoin(new Table<string, string>()))`,
    }
    const root = join(import.meta.dirname, '..')
    const head = `import { pipe } from 'fp-ts/function'
import { aggregate, boundedOutOfOrder, count, keyBy, match, pattern, pipeline, run, tableJoin, tumbling, window, windowJoin, Table, type Stream } from 'weirjs'
type Flight = { origin: string; dest: string; delay: number; at: number }
const late = pattern<Flight>().begin('late', (f) => f.delay > 15)
declare const s: Stream<Flight>
export {}
`
    const files = new Map(Object.values(mistakes).map((code, i) => [join(root, `.guidance-${i}.ts`), `${head}${code}\n`]))
    files.set(join(root, '.guidance-run.ts'), `${head}run(pipeline({ eventTime: (f: Flight) => f.at }, (x) => x), 'flights.ndjson')\n`)
    const messages = compile(root, files)
    Object.keys(mistakes).forEach((message, i) => expect(messages.get(join(root, `.guidance-${i}.ts`))).toContain(`'"${message}"'`))
    expect(messages.get(join(root, '.guidance-run.ts'))).toContain(`parameter of type '"run takes a source, not a path: run(p, fromLog(path)) replays a recorded log"'`)
  }, 60_000)
})

/** The errors of in-memory files compiled with the project's options, each file's messages joined. */
function compile(root: string, files: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>()
  for (const d of diagnosticsOf(files, projectOptions(root)))
    out.set(d.file!.fileName, `${out.get(d.file!.fileName) ?? ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n`)
  return out
}
