import { afterAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** The notebook examples run as a user runs them (`npx tsx <file> <dir>`), printing tables and charts and writing pages. */
const root = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'weir-notebook-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const notebook = async (name: string) => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--conditions=weir-source', '--import', 'tsx', `examples/notebook/${name}.ts`, dir], {
    cwd: root,
    timeout: 60_000,
  })
  expect(stderr).toBe('')
  return stdout.split('\n')
}

describe('examples/notebook', () => {
  it('weeklyDelays prints the table, a sparkline per airport, and saves the chart', async () => {
    const lines = await notebook('weeklyDelays')
    expect(lines.slice(0, 3)).toEqual([
      'airport  week        flights  meanDelayMinutes',
      '───────  ──────────  ───────  ────────────────',
      'LAX      2001-01-01       62               7.2',
    ])
    expect(lines).toContain('… 55 more rows (65 in all)')
    expect(lines.find((l) => l.startsWith('20,000 events in'))).toMatch(/^20,000 events in, 65 out, 0 late, 0 dead letters; /)
    const sparklines = lines.filter((l) => /^[A-Z]{3} [▁▂▃▄▅▆▇█]{13} /.test(l))
    expect(sparklines.map((l) => l.slice(0, 3))).toEqual(['LAX', 'ORD', 'PHX', 'ATL', 'DFW'])
    expect(lines).toContain(`wrote ${join(dir, 'weeklyDelays.html')}`)
    expect(readFileSync(join(dir, 'weeklyDelays.html'), 'utf8')).toMatch(/<svg[^]*mark-line role-mark/)
  })

  it('allowedLateness lists the hours that change with 9 hours of allowed lateness, and writes the report', async () => {
    const lines = await notebook('allowedLateness')
    expect(lines[0]).toBe('74 airport-hours changed, 327 added, 0 removed, 17072 the same')
    expect(lines[1]).toBe('late events: 410 without allowed lateness, 0 with 9 hours of it')
    expect(lines[4]).toBe(' 86  added  key ATL, window [2001-01-01T10:00Z, 2001-01-01T11:00Z)              1')
    expect(lines).toContain('… 393 more rows (401 in all)')
    expect(readFileSync(join(dir, 'departuresPerHour.html'), 'utf8')).toContain('<h1>departuresPerHour</h1>')
  })
})
