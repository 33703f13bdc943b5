import { describe, expect, it } from 'vitest'
import { chart, drawChart, sparkline, VEGA_LITE_SCHEMA } from './chart.ts'

const day = 86_400_000
const weeks = ['ORD', 'ATL'].flatMap((key, k) => Array.from({ length: 5 }, (_, i) => ({ key, window: { start: i * 7 * day, end: (i + 1) * 7 * day }, value: { n: 10 * (k + 1) + i } })))

describe('chart', () => {
  it('builds a Vega-Lite spec: window bounds temporal, numbers quantitative, the colour field nominal', () => {
    const spec = chart(weeks, { x: 'window.start', y: 'value.n', color: 'key', title: 'flights' })
    expect(spec).toMatchObject({
      $schema: VEGA_LITE_SCHEMA,
      title: 'flights',
      mark: { type: 'line', tooltip: true },
      encoding: {
        x: { field: 'window.start', type: 'temporal' },
        y: { field: 'value.n', type: 'quantitative' },
        color: { field: 'key', type: 'nominal' },
      },
    })
    expect(spec.data.values).toEqual(weeks)
    expect(chart([{ k: 'a', v: 1 }], { x: 'k', y: 'v', mark: 'bar' }).encoding.x.type).toBe('ordinal')
    expect(chart([{ n: 1, v: 1 }], { x: 'n', y: 'v' }).encoding.x.type).toBe('quantitative')
    expect(chart([{ week: '2001-01-01', v: 1 }], { x: 'week', y: 'v' }).encoding.x.type).toBe('temporal')
  })

  it('refuses an unknown mark or a missing field at once', () => {
    expect(() => chart(weeks, { x: 'window.start', y: 'value.n', mark: 'pie' as 'bar' })).toThrow("chart: mark must be 'line', 'bar', 'point' or 'area', got 'pie'")
    expect(() => chart(weeks, { x: '', y: 'value.n' })).toThrow('chart: x must name a field')
  })
})

describe('drawChart', () => {
  it('draws one sparkline per series, with its range', () => {
    const text = drawChart(chart(weeks, { x: 'window.start', y: 'value.n', color: 'key' }))
    expect(text.split('\n')).toEqual(['value.n by window.start per key', 'ORD ▁▃▅▆█ 10–14', 'ATL ▁▃▅▆█ 20–24'])
  })

  it('draws one series as a Braille plot between its y range, with the x range under it', () => {
    const lines = drawChart(chart(weeks.slice(0, 5), { x: 'window.start', y: 'value.n' }), { width: 30, height: 4 }).split('\n')
    expect(lines).toHaveLength(6)
    expect(lines[1]).toMatch(/^14 ┤[\u2800-\u28ff]{26}$/)
    expect(lines[4]).toMatch(/^10 ┤[\u2800-\u28ff]{26}$/)
    // A rising line: its first dot is in the bottom row's first cell, its last in the top row's last.
    expect(lines[4][4]).not.toBe('\u2800')
    expect(lines[1].at(-1)).not.toBe('\u2800')
    expect(lines[5]).toMatch(/^1970-01-01T00:00Z +1970-01-29T00:00Z$/)
  })

  it('draws bars scaled to the largest, and counts the bars left out', () => {
    const lines = drawChart(chart([{ k: 'a', v: 4 }, { k: 'b', v: 3 }, { k: 'c', v: 1 }], { x: 'k', y: 'v', mark: 'bar' }), { width: 30, height: 2 }).split('\n')
    expect(lines[1]).toBe(`a ${'█'.repeat(26)} 4`)
    expect(lines[2]).toMatch(/^b █{19}▌ {6} 3$/)
    expect(lines[3]).toBe('… 1 more bars')
  })
})

describe('sparkline', () => {
  it('scales from the minimum to the maximum, and averages into the width', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█')
    expect(sparkline([1, 1, 8, 8], 2)).toBe('▁█')
    expect(sparkline([5, 5, 5])).toBe('▄▄▄')
  })
})
