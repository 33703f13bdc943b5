import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { replay } from 'weirjs'
import { dataFile, stockRecoveries, type Recovery, type Stock } from './stockRecoveries.ts'

const DAY = 86_400_000
const stocks: Stock[] = readFileSync(dataFile('stocks.ndjson'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).event)

const monthsBetween = (a: number, b: number) =>
  (new Date(b).getUTCFullYear() - new Date(a).getUTCFullYear()) * 12 + new Date(b).getUTCMonth() - new Date(a).getUTCMonth()

const show = (r: Recovery) => `${r.symbol} ${r.before.date} ${r.drop.date} ${r._tag === 'Recovered' ? r.recovery.date : '-'}`

/**
 * The same question answered straight from the raw prices: each month-over-month fall of at least
 * `drop`, with the first later month back at the pre-drop price; recovered if that month is within
 * the bound, else reported when the bound runs out. In that order, a fall is skipped when it starts
 * at or before the recovery month of one reported before it.
 */
function direct(drop: number, months: number): Map<string, string[]> {
  // When a drop that did not recover is reported: the pattern's deadline (ordering only). Whether it
  // recovered is counted in calendar months, independently of that duration.
  const within = Math.round((30.44 * months + 15) * DAY)
  const bySymbol = new Map<string, Stock[]>()
  for (const s of stocks) bySymbol.set(s.symbol, [...(bySymbol.get(s.symbol) ?? []), s])
  const out = new Map<string, string[]>()
  for (const [symbol, xs] of bySymbol) {
    xs.sort((a, b) => a.date - b.date)
    const found: { at: number; phase: number; i: number; j: number | undefined }[] = []
    for (let i = 0; i + 1 < xs.length; i++) {
      if (xs[i + 1].price > xs[i].price * (1 - drop)) continue
      let j = i + 2
      while (j < xs.length && xs[j].price < xs[i].price) j++
      if (j < xs.length && monthsBetween(xs[i].date, xs[j].date) <= months) found.push({ at: xs[j].date, phase: 0, i, j })
      else found.push({ at: xs[i].date + within, phase: 1, i, j: undefined })
    }
    found.sort((a, b) => a.at - b.at || a.phase - b.phase || a.i - b.i)
    let barrier = -1
    const shown: string[] = []
    for (const f of found) {
      if (f.i <= barrier) continue
      shown.push(`${symbol} ${xs[f.i].date} ${xs[f.i + 1].date} ${f.j === undefined ? '-' : xs[f.j].date}`)
      if (f.j !== undefined) barrier = f.j
    }
    out.set(symbol, shown)
  }
  return out
}

describe('examples/stockRecoveries', () => {
  for (const [drop, months] of [
    [0.15, 6],
    [0.1, 3],
    [0.2, 12],
  ] as const)
    it(`finds every ${drop * 100}% drop and its recovery within ${months} months, per symbol, as a direct scan does`, async () => {
      const { out, late, deadLetters } = await replay(stockRecoveries({ drop, months }), dataFile('stocks.ndjson'))
      expect(late).toEqual([])
      expect(deadLetters).toEqual([])
      const expected = direct(drop, months)
      for (const [symbol, rows] of expected) expect(out.filter((r) => r.symbol === symbol).map(show)).toEqual(rows)
      expect(out.length).toBe([...expected.values()].flat().length)
      expect(out.some((r) => r._tag === 'Recovered')).toBe(true)
      for (const r of out) {
        expect(r.drop.price).toBeLessThanOrEqual(r.before.price * (1 - drop))
        if (r._tag === 'Recovered') expect(monthsBetween(r.before.date, r.recovery.date)).toBeLessThanOrEqual(months)
      }
    })

  it('reports the 2008 crash: AMZN fell 25% in November 2008 and was back by January 2009', async () => {
    const { out } = await replay(stockRecoveries({ drop: 0.15, months: 6 }), dataFile('stocks.ndjson'))
    const amzn = out.find((r) => r.symbol === 'AMZN' && r.drop.date === Date.UTC(2008, 10, 1))
    expect(amzn?._tag).toBe('Recovered')
    expect(amzn?._tag === 'Recovered' && amzn.recovery.date).toBe(Date.UTC(2009, 0, 1))
  })

  it('counts a recovery in calendar months, also over long spans: 61 months after is too late for months: 60', async () => {
    // 100 in Feb 2001, 50 in Mar 2001, then 60 until 100 again in Mar 2006 (61 months after Feb 2001,
    // 1854 days: within 31 * 60 days, which is why the bound is not 31 days a month).
    const lines = Array.from({ length: 62 }, (_, i) => {
      const date = Date.UTC(2001, 1 + i, 1)
      const price = i === 0 ? 100 : i === 1 ? 50 : i === 61 ? 100 : 60
      return JSON.stringify({ arrival: date, topic: 'stocks', event: { symbol: 'X', date, price } })
    })
    const at60 = (await replay(stockRecoveries({ drop: 0.15, months: 60 }), lines)).out
    expect(at60.map((r) => r._tag)).toEqual(['NotRecovered'])
    const at61 = (await replay(stockRecoveries({ drop: 0.15, months: 61 }), lines)).out
    expect(at61.map((r) => r._tag)).toEqual(['Recovered'])
  })

  it('recovered episodes of one symbol never overlap (skipPastLastEvent)', async () => {
    const { out } = await replay(stockRecoveries({ drop: 0.1, months: 12 }), dataFile('stocks.ndjson'))
    const spans = out.flatMap((r) => (r._tag === 'Recovered' ? [{ symbol: r.symbol, from: r.before.date, to: r.recovery.date }] : []))
    for (const a of spans) for (const b of spans) if (a !== b && a.symbol === b.symbol) expect(a.to < b.from || b.to < a.from).toBe(true)
  })
})
