import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chart } from './chart.ts'
import { save, toSVG } from './render.ts'

const rows = [1, 2, 3, 4].map((i) => ({ key: i % 2 ? 'a' : 'b', window: { start: i * 60_000 }, value: i * i }))

describe('save', () => {
  it('renders an SVG with the marks of every series, offline', async () => {
    const svg = await toSVG(chart(rows, { x: 'window.start', y: 'value', color: 'key' }))
    expect(svg.startsWith('<svg')).toBe(true)
    // One line per series.
    expect(svg.match(/class="mark-line role-mark/g)).toHaveLength(2)
    expect(svg.match(/<path[^>]*stroke="#4c78a8"/g)?.length).toBeGreaterThan(0)
    expect(svg.match(/<path[^>]*stroke="#f58518"/g)?.length).toBeGreaterThan(0)
  })

  it('writes .svg and .html files by extension; the HTML holds the SVG and loads nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-save-'))
    try {
      const spec = chart(rows, { x: 'key', y: 'value', mark: 'bar', title: 'squares <by key>' })
      await save(spec, join(dir, 'c.svg'))
      await save(spec, join(dir, 'c.html'))
      expect(readFileSync(join(dir, 'c.svg'), 'utf8')).toMatch(/^<svg[^]*mark-rect[^]*<\/svg>$/)
      const html = readFileSync(join(dir, 'c.html'), 'utf8')
      expect(html).toContain('<title>squares &lt;by key&gt;</title>')
      expect(html).toContain('<svg')
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/)
      await expect(save(spec, join(dir, 'c.png'))).rejects.toThrow("save: the file must end in .svg or .html, got '")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
