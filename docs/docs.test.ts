import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Source comments cite the repository's own docs, which exist, and nothing outside it. */
const root = join(import.meta.dirname, '..')
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.md', '*.mjs'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && existsSync(join(root, f)))

describe('docs', () => {
  it('every docs/*.md a file cites exists', () => {
    const missing = files.flatMap((f) =>
      [...readFileSync(join(root, f), 'utf8').matchAll(/\bdocs\/([\w-]+\.md)/g)].map((m) => m[1]).filter((doc) => !existsSync(join(root, 'docs', doc))).map((doc) => `${f}: docs/${doc}`),
    )
    expect(missing).toEqual([])
  })

  it('no file cites a DESIGN.md, which is not in the repository', () => {
    expect(files.filter((f) => f !== 'docs/docs.test.ts' && readFileSync(join(root, f), 'utf8').includes('DESIGN.md'))).toEqual([])
  })
})
