import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { diagnosticsOf, projectOptions } from './scripts/inMemoryProgram.ts'

/**
 * The README's TypeScript blocks are programs, and so are the testing guide's: each runs as written
 * (importing 'weirjs', as a user would), and where a `text` block follows it, that is exactly what
 * it must print.
 */
const root = dirname(fileURLToPath(import.meta.url))
const blocks = ['README.md', 'docs/testing-pipelines.md']
  .flatMap((doc) => [...readFileSync(join(root, doc), 'utf8').matchAll(/```ts\n([\s\S]*?)```\n(?:\n```text\n([\s\S]*?)```)?/g)].map((m) => ({ doc, code: m[1], expected: m[2] })))
  .map((b, i) => ({ ...b, i }))
const tmp = join(root, '.readme-tmp')

describe('README', () => {
  it('has code blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2)
  })

  for (const b of blocks) {
    it(`block ${b.i + 1} (${b.doc}) runs${b.expected ? ' and prints what it says' : ''}`, () => {
      mkdirSync(tmp, { recursive: true })
      const file = join(tmp, `block-${b.i + 1}.ts`)
      writeFileSync(file, b.code)
      try {
        const out = execFileSync(process.execPath, ['--conditions=weir-source', '--import', 'tsx', file], { cwd: root, encoding: 'utf8' })
        if (b.expected !== undefined) expect(out.trim()).toBe(b.expected.trim())
      } finally {
        rmSync(file, { force: true })
      }
    })
  }
})

/**
 * The type errors of the README's blocks, checked as files at the package root (so `'weirjs'` resolves
 * as it does for a user) with the project's compiler options: tsx runs them without checking types.
 */
function typeErrors(): string[] {
  const files = new Map(blocks.map((b) => [join(root, `.readme-block-${b.i + 1}.ts`), `${b.code}\nexport {}\n`]))
  return diagnosticsOf(files, projectOptions(root)).map(
    (d) => `${d.file!.fileName.slice(root.length + 1)}:${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  )
}

describe('README types', () => {
  it('every block type-checks as a user would compile it', () => {
    expect(typeErrors()).toEqual([])
  }, 60_000)
})
