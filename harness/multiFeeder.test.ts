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
import { fromLog, type PulledRecord, type PulledSource, type PullOptions } from '../connectors/sources.ts'
import type { Checkpoint, CheckpointStore } from './checkpoint.ts'
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

/** A broker input that waits `waitMs` on a pull with nothing to give, unless asked not to wait. */
interface FakeBroker extends PulledSource<unknown> {
  readonly acked: unknown[]
  /** True once its script is served. */
  readonly done: () => boolean
}

/**
 * A broker serving `script`, one step a pull: a batch of events (tokens `<name><n>`) or 'empty';
 * then nothing (waiting when allowed to) until `endWhen` holds, and then the end.
 */
function broker(name: string, script: readonly (readonly unknown[] | 'empty')[], o: { endWhen?: () => boolean; onWait?: () => void; identity?: string } = {}): FakeBroker {
  let step = 0
  let n = 0
  const acked: unknown[] = []
  const nothing = async (options?: PullOptions) => {
    if (options?.wait === false) return []
    o.onWait?.()
    await new Promise((r) => setTimeout(r, 20))
    return []
  }
  return {
    _tag: 'Pulled',
    identity: o.identity,
    acked,
    done: () => step >= script.length,
    async pull(_max, options) {
      if (step >= script.length) return o.endWhen === undefined || o.endWhen() ? undefined : nothing(options)
      const s = script[step++]
      if (s === 'empty') return nothing(options)
      return s.map((value): PulledRecord<unknown> => ({ value, pos: 0, token: `${name}${n++}` }))
    },
    ack: async (tokens) => void acked.push(...tokens),
    close: async () => {},
  }
}

describe('run with broker inputs', () => {
  const searchBatch = (from: number) => Array.from({ length: 20 }, (_, i) => ({ user: 'u', at: from + i, query: `q${from + i}` }))

  it('goes on with a busy input instead of waiting on an empty one', async () => {
    let heldUp = 0
    const searches = broker('s', [0, 20, 40, 60, 80].map(searchBatch))
    const clicks = broker('c', [], { endWhen: searches.done, onWait: () => void (searches.done() ? undefined : heldUp++) })
    const { out } = await run(tagged, { clicks, searches })
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => `search q${i}`))
    expect(heldUp).toBe(0)
  })

  it('asks each input in turn once all are empty, so an input that stays empty never starves another', async () => {
    const searches = broker('s', ['empty', 'empty', searchBatch(0)])
    const clicks = broker('c', [], { endWhen: searches.done })
    const { out } = await run(tagged, { clicks, searches })
    expect(out).toHaveLength(20)
  }, 10_000)

  it("takes checkpoints of broker inputs: each input's records acknowledged after the save, and again on restore, to that input only", async () => {
    let saved: Checkpoint | undefined
    const store: CheckpointStore = { load: async () => saved, save: async (c) => void (saved = c) }
    const clicks = broker('c', [[{ user: 'u', at: 100 }]])
    const searches = broker('s', [[{ user: 'u', at: 95, query: 'first' }]])
    const first = await run(joined, { clicks, searches }, { checkpoint: { store, everyEvents: 100 } })
    expect(first.out).toEqual(['100:first'])
    expect([clicks.acked, searches.acked]).toEqual([['c0'], ['s0']])
    expect(saved?.offsets).toEqual({ clicks: 1, searches: 1 })
    expect(saved?.acked).toEqual([['clicks', 'c0'], ['searches', 's0']])

    // The click at 100 is still in the join's state (the searches' watermark is 95): restored, it
    // meets a search of the next run.
    const clicks2 = broker('C', [])
    const searches2 = broker('S', [[{ user: 'u', at: 105, query: 'second' }]])
    const second = await run(joined, { clicks: clicks2, searches: searches2 }, { checkpoint: { store, everyEvents: 100 } })
    expect(second.out).toEqual(['100:second'])
    expect([clicks2.acked, searches2.acked]).toEqual([['c0'], ['s0', 'S0']])
  })

  it('refuses a checkpoint taken from other broker inputs, naming the source', async () => {
    let saved: Checkpoint | undefined
    const store: CheckpointStore = { load: async () => saved, save: async (c) => void (saved = c) }
    const inputs = (topic: string) => ({
      clicks: broker('c', [[{ user: 'u', at: 100 }]], { identity: 'redis topics clicks group g' }),
      searches: broker('s', [], { identity: `redis topics ${topic} group g` }),
    })
    await run(joined, inputs('searches'), { checkpoint: { store } })
    await expect(run(joined, inputs('queries'), { checkpoint: { store } })).rejects.toThrow(
      'run: source searches: checkpoint belongs to redis topics searches group g, not redis topics queries group g; restore it with the pipeline and input it was taken for, or start afresh without it',
    )
    await expect(run(joined, inputs('searches'), { checkpoint: { store } })).resolves.toBeDefined()
  })
})
