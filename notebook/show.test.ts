import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, count, keyBy, pipeline, tumbling, window } from '../index.ts'
import { replay } from '../harness/replay.ts'
import { chart } from './chart.ts'
import { show } from './show.ts'

const capture = (columns?: number) => {
  let text = ''
  return { out: { write: (s: string) => (text += s), columns }, text: () => text }
}

const perKey = pipeline({ name: 'perKey', eventTime: (e: { k: string; t: number }) => e.t }, (s) =>
  pipe(s, keyBy((e) => e.k), window(tumbling(10)), aggregate({ n: count })),
)
const log = [
  '{"offset":1,"arrival":1,"event":{"k":"a","t":1}}',
  'not json',
  '{"offset":3,"arrival":2,"event":{"k":"b","t":12}}',
  '{"offset":4,"arrival":3,"event":{"k":"a","t":2}}',
]

describe('show', () => {
  it("prints a run's outputs as a table, then its counts, late events by stage and dead letters by reason with the first ones", async () => {
    const c = capture(80)
    show(await replay(perKey, log), c)
    const lines = c.text().split('\n')
    expect(lines.slice(0, 4)).toEqual([
      'key  window.start              window.end                value.n',
      '───  ────────────────────────  ────────────────────────  ───────',
      'a    1970-01-01T00:00Z         1970-01-01T00:00:00.010Z        1',
      'b    1970-01-01T00:00:00.010Z  1970-01-01T00:00:00.020Z        1',
    ])
    expect(lines[4]).toMatch(/^4 events in, 2 out, 1 late, 1 dead letter; [\d,]+ events\/s \([\d,]+ ms\)$/)
    expect(lines[5]).toMatch(/^late by stage: window\S* 1$/)
    expect(lines[6]).toBe('  late at offset 4 in ' + lines[5].split(' ')[3] + ': time 1970-01-01T00:00:00.002Z < watermark 1970-01-01T00:00:00.012Z, key a')
    expect(lines[7]).toBe('dead letters by reason: parse 1')
    expect(lines[8]).toMatch(/^ {2}dead letter \(parse\) at line 2 in source: /)
  })

  it('prints a chart spec as a Unicode chart fitted to the terminal width, and arrays as tables', () => {
    const c = capture(40)
    show(chart([{ x: 1, y: 1 }, { x: 2, y: 3 }], { x: 'x', y: 'y' }), { ...c, height: 3 })
    const lines = c.text().trimEnd().split('\n')
    expect(lines[0]).toBe('y by x')
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40)
    const t = capture(40)
    expect(show([{ key: 'a', n: 1 }], t)).toBe('key  n\n───  ─\na    1')
    expect(t.text()).toBe('key  n\n───  ─\na    1\n')
  })
})
