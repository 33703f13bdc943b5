import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The README's TypeScript blocks are programs: each runs as written (importing 'weir', as a user
 * would), and where a `text` block follows it, that is exactly what it must print.
 */
const root = dirname(fileURLToPath(import.meta.url))
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```\n(?:\n```text\n([\s\S]*?)```)?/g)].map(
  (m, i) => ({ i, code: m[1], expected: m[2] }),
)
const tmp = join(root, '.readme-tmp')

describe('README', () => {
  it('has code blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2)
  })

  for (const b of blocks) {
    it(`block ${b.i + 1} runs${b.expected ? ' and prints what the README says' : ''}`, () => {
      mkdirSync(tmp, { recursive: true })
      const file = join(tmp, `block-${b.i + 1}.ts`)
      writeFileSync(file, b.code)
      try {
        const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' })
        if (b.expected !== undefined) expect(out.trim()).toBe(b.expected.trim())
      } finally {
        rmSync(file, { force: true })
      }
    })
  }
})
