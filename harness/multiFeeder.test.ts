import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { of } from 'rxjs'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as t from 'io-ts'
import { pipeline } from '../dsl/pipeline.ts'
import { source } from '../dsl/sources.ts'
import { keyBy, map, merge } from '../dsl/stages.ts'
import { windowJoin } from '../dsl/joins.ts'
import { fromLog } from '../connectors/sources.ts'
import { run } from './run.ts'
import { RUN_LENGTH } from './multiFeeder.ts'

const Click = t.type({ user: t.string, at: t.number })
const Search = t.type({ user: t.string, at: t.number, query: t.string })

const tagged = pipeline(
  { sources: { clicks: source({ codec: Click }), searches: source({ codec: Search }) } },
  ({ clicks, searches }) => pipe(clicks, map((c) => `click ${c.at}`), merge(pipe(searches, map((s) => `search ${s.query}`)))),
)

const joined = pipeline(
  { sources: { clicks: source({ codec: Click, eventTime: (c) => c.at }), searches: source({ codec: Search, eventTime: (s) => s.at }) } },
  ({ clicks, searches }) =>
    pipe(
      clicks,
      keyBy((c) => c.user),
      windowJoin(pipe(searches, keyBy((s) => s.user)), { within: 10 }),
      map((j) => `${j.left.at}:${j.right.query}`),
    ),
)

describe('run with one input per source', () => {
  it('reads the inputs in turns of RUN_LENGTH records, the one with the fewest runs read first (the first declared on a tie)', async () => {
    const clicks = Array.from({ length: 2 * RUN_LENGTH + 3 }, (_, i) => ({ user: 'u', at: i }))
    const searches = Array.from({ length: RUN_LENGTH + 2 }, (_, i) => ({ user: 'u', at: i, query: `q${i}` }))
    const { out } = await run(tagged, { clicks, searches })
    const c = (from: number, to: number) => clicks.slice(from, to).map((x) => `click ${x.at}`)
    const s = (from: number, to: number) => searches.slice(from, to).map((x) => `search ${x.query}`)
    const r = RUN_LENGTH
    expect(out).toEqual([...c(0, r), ...s(0, r), ...c(r, 2 * r), ...s(r, r + 2), ...c(2 * r, 2 * r + 3)])
  })

  it('finishes a run begun in an input whose feeds were cut short (an async input gives one record a feed)', async () => {
    async function* slowly<A>(xs: readonly A[]) {
      for (const x of xs) yield x
    }
    const clicks = Array.from({ length: RUN_LENGTH + 1 }, (_, i) => ({ user: 'u', at: i }))
    const { out } = await run(tagged, { clicks: slowly(clicks), searches: [{ user: 'u', at: 0, query: 'a' }] })
    expect(out).toEqual([...clicks.slice(0, RUN_LENGTH).map((x) => `click ${x.at}`), 'search a', `click ${RUN_LENGTH}`])
  })

  it('joins two inputs with a watermark each, and names the source in its dead letters', async () => {
    const { out, deadLetters, late } = await run(joined, {
      clicks: [{ user: 'u', at: 100 }, { user: 'u', at: 'x' }, { user: 'u', at: 300 }],
      searches: (async function* () {
        yield { user: 'u', at: 95, query: 'first' }
        yield { user: 'u', at: 305, query: 'second' }
      })(),
    })
    expect(out).toEqual(['100:first', '300:second'])
    expect(late).toEqual([])
    expect(deadLetters.map((d) => [d.reason, d.stage, d.pos])).toEqual([['codec', 'source clicks', 1]])
  })

  it('routes one recorded log by topic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-sources-'))
    const path = join(dir, 'log.ndjson')
    const lines = [
      { arrival: 1, topic: 'searches', event: { user: 'u', at: 0, query: 'a' } },
      { arrival: 2, topic: 'clicks', event: { user: 'u', at: 5 } },
      { arrival: 3, topic: 'views', event: {} },
    ]
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const { out, deadLetters, metrics } = await run(joined, fromLog(path))
    expect(out).toEqual(['5:a'])
    expect(deadLetters).toEqual([])
    expect(metrics.skipped).toBe(1)
  })

  it('refuses inputs that do not match the sources, and Observables', async () => {
    const clicks = [{ user: 'u', at: 1 }]
    await expect(run(tagged, [1, 2] as never)).rejects.toThrow('run: this pipeline reads several sources (clicks, searches): give one input per source, run(p, { clicks: ..., searches: ... }), or one recorded log routed by topic')
    // @ts-expect-error no input for searches
    await expect(run(tagged, { clicks })).rejects.toThrow("run: no input for source 'searches' (its sources: clicks, searches)")
    // @ts-expect-error clickz is no source of the pipeline
    await expect(run(tagged, { clickz: clicks, clicks, searches: [] })).rejects.toThrow("run: input 'clickz' names no source of this pipeline")
    await expect(run(tagged, { clicks: of(...clicks), searches: [] })).rejects.toThrow("run: input 'clicks' is an Observable")
  })
})
