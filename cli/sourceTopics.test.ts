import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sourceTopicsOf } from './sourceTopics.ts'
import { main, type CliIO } from './weir.ts'

const root = join(import.meta.dirname, '..')
const TWO = 'cli/fixtures/twoSources.ts'
const names = new Set(['clicks', 'searches'])

async function weir(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: root, env: {} }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}

describe('sourceTopicsOf (--from of a pipeline with several sources)', () => {
  it('maps each source to its topic', () => {
    expect(sourceTopicsOf('clicks=web-clicks,searches=web-*', names)).toEqual({ clicks: 'web-clicks', searches: 'web-*' })
    expect(sourceTopicsOf('a,b', undefined)).toBeUndefined()
  })

  it.each([
    ['clicks,searches', names, /this pipeline reads several sources \(clicks, searches\); map each to its topic: --from clicks=<topic>,searches=<topic>/],
    ['clicks=a', names, /no topic for source 'searches'/],
    ['clicks=a,views=b,searches=c', names, /'views' names no source of this pipeline/],
    ['clicks=a,clicks=b,searches=c', names, /source 'clicks' is given twice/],
    ['clicks=a', undefined, /maps sources to topics, but this pipeline reads one source/],
  ])('refuses --from %s with one line', (from, n, message) => {
    expect(() => sourceTopicsOf(from, n)).toThrow(message)
  })
})

describe('weir run of a pipeline with several sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sources-cli-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('--log routes each record to the source its topic names; another topic is skipped and counted in the summary', async () => {
    const log = join(dir, 'log.ndjson')
    const lines = [
      { arrival: 1, topic: 'clicks', event: { user: 'u', at: 1 } },
      { arrival: 2, topic: 'searches', event: { user: 'u', at: 2, query: 'q' } },
      { arrival: 3, topic: 'views', event: { user: 'u', at: 3 } },
    ]
    writeFileSync(log, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const r = await weir(['run', TWO, '--log', log])
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ click: 'u' }, { search: 'q' }])
    expect(r.stderr).toMatch(/^weir: 1 record of a topic no source reads skipped \(its sources: clicks, searches\)$/m)
    expect(r.stderr).toMatch(/ 0 dead letters,/)
  })
})
