import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pipe } from 'fp-ts/lib/function.js'
import { aggregate, boundedOutOfOrder, count, keyBy, mean, pipeline, tumbling, window } from '../index.ts'
import { report } from './report.ts'
import { reportOf, Thinned } from './reportData.ts'

interface Reading {
  readonly sensor: string
  readonly t: number
  readonly celsius: number
}

const perSensor = pipeline({ name: 'sensorMinutes', eventTime: (r: Reading) => r.t, watermark: boundedOutOfOrder('30s') }, (s) =>
  pipe(s, keyBy((r) => r.sensor), window(tumbling('5m')), aggregate({ n: count, celsius: mean((r: Reading) => r.celsius) })),
)

const minute = 60_000
const start = Date.UTC(2026, 0, 5)
/** 600 readings of three sensors, a few out of order by 2 minutes (late), and three lines that are not JSON. */
const log = (() => {
  const lines: string[] = []
  let offset = 0
  for (let i = 0; i < 600; i++) {
    const sensor = ['north', 'south', 'roof'][i % 3]
    const t = start + Math.floor(i / 3) * 20_000 - (i % 97 === 50 ? 2 * minute : 0)
    lines.push(JSON.stringify({ offset: ++offset, arrival: start + i * 7000, event: { sensor, t, celsius: 15 + 5 * Math.sin(i / 40) + (i % 3) } }))
    if (i % 211 === 100) lines.push(`not json ${++offset}`)
  }
  return lines
})()

describe('reportOf', () => {
  it('gathers outputs, the watermark against the largest event time, and side outputs by reason', async () => {
    const d = await reportOf(perSensor, log)
    expect(d.plan.map((s) => s.label)).toEqual(['source, watermarks: boundedOutOfOrder 30s', 'keyBy', expect.stringMatching(/^window tumbling 5m/)])
    expect(d.outputs).toHaveLength(d.metrics.eventsOut)
    expect(d.deadLettersByReason).toEqual(new Map([['parse', 3]]))
    expect([...d.lateByStage.values()].reduce((a, b) => a + b, 0)).toBe(d.metrics.late)
    expect(d.metrics.late).toBeGreaterThan(0)
    // The watermark trails the largest event time by the 30 s bound (boundedOutOfOrder), never more.
    for (const w of d.watermarks) expect(w.maxEventTime! - w.watermark).toBe(30_000)
    expect(d.watermarks.at(-1)!.maxEventTime).toBe(start + 199 * 20_000)
    for (let i = 1; i < d.watermarks.length; i++) expect(d.watermarks[i].records).toBeGreaterThan(d.watermarks[i - 1].records)
  })
})

describe('Thinned', () => {
  it('keeps at most max points, spread evenly, and always the last', () => {
    const t = new Thinned<number>(4)
    for (let i = 0; i < 10; i++) t.push(i)
    expect(t.points()).toEqual([0, 4, 8, 9])
  })
})

describe('report', () => {
  it('is one HTML page that loads nothing: no script, no link, no URL but SVG namespaces', async () => {
    const html = await report(perSensor, log)
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).not.toMatch(/<script|<link|<img|@import/i)
    expect(html.match(/(?:https?:)?\/\/[a-z0-9.-]+/gi)!.filter((u) => !u.endsWith('www.w3.org'))).toEqual([])
    for (const id of ['plan', 'outputs', 'watermark', 'side-outputs', 'throughput']) expect(html).toContain(`<section id="${id}">`)
  })
})

const CHROMIUM = '/usr/bin/chromium'
const browserAvailable = existsSync(CHROMIUM)
if (!browserAvailable) console.warn(`report.test.ts: the browser test is skipped: no chromium at ${CHROMIUM} (.ci/run installs it)`)

describe.skipIf(!browserAvailable)('the report in a real browser (headless Chromium)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-report-'))
  let context: import('playwright-core').BrowserContext
  beforeAll(async () => {
    const { chromium } = await import('playwright-core')
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    })
  }, 90_000)
  afterAll(async () => {
    await context?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('renders with no console error and no request, every chart has marks, and the page is not blank', async () => {
    const file = join(dir, 'report.html')
    writeFileSync(file, await report(perSensor, log))
    const page = await context.newPage()
    const errors: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url())
    })
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })

    const charts = await page.$$eval('figure.chart svg', (svgs) =>
      svgs.map((svg) => ({
        title: svg.querySelector('.role-title text')?.textContent ?? '',
        // Data marks drawn with a size: lines, areas, bars, points.
        marks: [...svg.querySelectorAll('g.role-mark path, g.role-mark rect, g.role-mark line')].filter((m) => {
          const b = (m as unknown as { getBBox(): { width: number; height: number } }).getBBox()
          return b.width > 0 || b.height > 0
        }).length,
      })),
    )
    expect(charts.map((c) => c.title)).toEqual([
      'value.n over event time per key',
      'value.celsius over event time per key',
      'Watermark and largest event time, by records read',
      'Watermark lag behind the largest event time (seconds)',
      'Dead letters by reason',
      'Late events by stage',
    ])
    for (const c of charts) expect(c.marks, c.title).toBeGreaterThan(0)
    expect(await page.locator('svg.plan g.step').count()).toBe(3)
    // 3 sensors, 14 five-minute windows each (200 readings 20 s apart).
    expect(await page.locator('#outputs table tbody tr').count()).toBe(42)

    // Not blank: the screenshot's pixels, decoded by the browser itself, hold many colours.
    const png = await page.screenshot({ fullPage: true })
    const colours = await page.evaluate(`(async () => {
      const img = new Image()
      img.src = 'data:image/png;base64,${png.toString('base64')}'
      await img.decode()
      const canvas = document.createElement('canvas')
      canvas.width = img.width
      canvas.height = img.height
      const g = canvas.getContext('2d')
      g.drawImage(img, 0, 0)
      const px = g.getImageData(0, 0, img.width, img.height).data
      const seen = new Set()
      for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2])
      return seen.size
    })()`)
    expect(colours).toBeGreaterThan(50)
    expect(errors).toEqual([])
    expect(requests).toEqual([])
  }, 60_000)
})
