import { describe, expect, it } from 'vitest'
import { formatTable, isoTime } from './table.ts'

const week = (key: string, start: number, n: number, delay: number) => ({ key, window: { start, end: start + 604_800_000 }, value: { n, delay } })

describe('formatTable', () => {
  it('puts keys first, window bounds as ISO times, and right-aligns numbers on their decimal point', () => {
    const text = formatTable([
      { value: { n: 95, delay: 12.4 }, window: { start: 978_307_200_000, end: 978_912_000_000 }, key: 'ORD' },
      week('ATL', 978_307_200_000, 7, -1.3456),
    ])
    expect(text.split('\n')).toEqual([
      'key  window.start       window.end         value.n  value.delay',
      '───  ─────────────────  ─────────────────  ───────  ───────────',
      'ORD  2001-01-01T00:00Z  2001-01-08T00:00Z       95       12.400',
      'ATL  2001-01-01T00:00Z  2001-01-08T00:00Z        7       -1.346',
    ])
  })

  it('shows the first rows and counts the others', () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, n: i }))
    const lines = formatTable(rows, { maxRows: 3 }).split('\n')
    expect(lines).toHaveLength(6)
    expect(lines[5]).toBe('… 22 more rows (25 in all)')
    expect(formatTable(rows.slice(0, 2), { total: 1002 }).split('\n').at(-1)).toBe('… 1,000 more rows (1,002 in all)')
  })

  it('fits the width: cuts the widest column with … and names the columns left out', () => {
    const rows = [{ key: 'a', text: 'x'.repeat(200), n: 1 }]
    const cut = formatTable(rows, { width: 40 }).split('\n')
    for (const line of cut) expect(line.length).toBeLessThanOrEqual(40)
    expect(cut[2]).toMatch(/^a {4}x+…  1$/)
    // Numbers are never cut: a column of them is left out whole.
    const wide = formatTable([{ key: 'a', text: 'x'.repeat(30), big: 123_456_789_012_345 }], { width: 20 }).split('\n')
    expect(wide[2]).toMatch(/^a {4}x{7}…$/)
    expect(wide[3]).toBe('… 1 more column not shown: big')
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`column${i}`, i]))
    const lines = formatTable([many], { width: 40 }).split('\n')
    for (const line of lines.slice(0, 3)) expect(line.length).toBeLessThanOrEqual(40)
    expect(lines[3]).toMatch(/^… \d+ more columns not shown: .*column11$/)
  })

  it('shows values that are not objects in one column, text on one line, and nothing for null', () => {
    expect(formatTable([3, 10]).split('\n')).toEqual(['value', '─────', '    3', '   10'])
    expect(formatTable([{ a: 'two\nlines', b: null, c: [1, 2] }]).split('\n')[2]).toBe('two⏎lines     [1,2]')
    expect(formatTable([])).toBe('(no rows)')
    expect(formatTable([], { total: 3 })).toBe('(3 rows, none kept to show)')
  })

  it('shows other time columns as ISO times when asked', () => {
    expect(formatTable([{ when: 978_307_230_250 }], { times: ['when'] }).split('\n')[2]).toBe('2001-01-01T00:00:30.250Z')
    // Named like a time and holding epoch milliseconds: a time without being asked; small numbers stay numbers.
    expect(formatTable([{ before: { date: 978_307_200_000 } }]).split('\n')[2]).toBe('2001-01-01T00:00Z')
    expect(formatTable([{ date: 20 }]).split('\n')[2]).toBe('  20')
  })
})

describe('isoTime', () => {
  it('drops zero seconds and milliseconds, and writes infinities as ∞', () => {
    expect(isoTime(978_307_200_000)).toBe('2001-01-01T00:00Z')
    expect(isoTime(978_307_201_000)).toBe('2001-01-01T00:00:01Z')
    expect(isoTime(Number.POSITIVE_INFINITY)).toBe('+∞')
    expect(isoTime(Number.NEGATIVE_INFINITY)).toBe('-∞')
  })
})
