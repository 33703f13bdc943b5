import { describe, expect, it } from 'vitest'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { diagnosticsOf } from './scripts/inMemoryProgram.ts'

/**
 * The TSDoc `@example`s are type-checked, as the README's blocks are (see readmeBlocks.test.ts):
 * an example calling a function that is gone, with arguments it no longer takes or options it
 * does not know, fails here. Examples are fragments: each is checked as a file beside its module,
 * importing every name it mentions that some module of the package exports (the public entry
 * points first); the names it leaves to the reader (`trips`, `redis`, a user's pipeline) are
 * declared `any`. An example that leaves no name to the reader also runs, and what its comments
 * say a line gives (`toMillis('5m') // 300000`), when the comment is a value, must be what it gives.
 */
const root = dirname(fileURLToPath(import.meta.url))

interface Example {
  readonly module: string
  readonly code: string
  readonly line: number
}

/** The `@example` blocks of a source file: the comment lines after the tag, up to the next tag or the comment's end. */
function examplesOf(module: string, text: string): Example[] {
  const out: Example[] = []
  for (const c of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = c[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?\s?/, '').replace(/\s*\*\/$/, ''))
    const first = text.slice(0, c.index).split('\n').length
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].startsWith('@example')) continue
      const body: string[] = []
      let j = i + 1
      for (; j < lines.length && !lines[j].startsWith('@'); j++) body.push(lines[j])
      const code = body.join('\n').replace(/```\w*\n?/g, '').trim()
      if (code !== '') out.push({ module, code, line: first + i })
      i = j - 1
    }
  }
  return out
}

const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root)
const sources = config.fileNames.filter((f) => !/\.(test|test-d|prop)\.ts$/.test(f) && !f.includes('/bench/') && !f.includes('/scripts/'))
const examples = sources.flatMap((f) => examplesOf(f, readFileSync(f, 'utf8')))

/** The names a module exports, read from its text (`export const x`, `export { a, b as c }`, `export type { T }`). */
function exportsOf(text: string): string[] {
  const direct = [...text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([\w$]+)/gm)].map((m) => m[1])
  const listed = [...text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)].flatMap((m) =>
    m[1].split(',').map((x) => x.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!).filter((x) => x !== ''),
  )
  return [...direct, ...listed]
}

/** The package's public names, by the specifier a user imports them from. */
const publicNames = new Map<string, string>()
for (const [spec, file] of [
  ['weirjs', 'index.ts'],
  ['weirjs/testing', 'harness/testing.ts'],
  ['weirjs/property-tests', 'property-tests/index.ts'],
  ['weirjs/redis', 'connectors/redis/index.ts'],
  ['weirjs/postgres', 'connectors/postgres/index.ts'],
])
  for (const n of exportsOf(readFileSync(join(root, file), 'utf8'))) if (!publicNames.has(n)) publicNames.set(n, spec)

const exampleFile = (e: Example, i: number) => join(dirname(e.module), `.example-${i}.ts`)

/**
 * An example as a file: imports for the names it mentions that its module or the package exports,
 * and `any` (as a value and, capitalized, as a type) for every other name it leaves open.
 */
function asFile(e: Example): string {
  const code = e.code.replace(/\/\/.*$/gm, '').replaceAll('...', ' ')
  const declared = new Set([...code.matchAll(/\b(?:const|let|var|function|class|interface|type)\s+([\w$]+)/g)].map((m) => m[1]))
  for (const m of code.matchAll(/\b(?:const|let|import)\s*\{([^}]*)\}/g)) for (const n of m[1].split(/[,:\s]+/)) if (n !== '') declared.add(n)
  const own = new Set(exportsOf(readFileSync(e.module, 'utf8')))
  const bySpec = new Map<string, string[]>()
  const open: string[] = []
  for (const n of new Set(code.match(/(?<![\w$.'"])[A-Za-z_$][\w$]*/g) ?? [])) {
    if (declared.has(n) || RESERVED.has(n) || n in globalThis || globalTypes.has(n)) continue
    const spec = own.has(n) ? `./${relative(dirname(e.module), e.module)}` : publicNames.get(n)
    if (spec === undefined) open.push(n)
    else bySpec.set(spec, [...(bySpec.get(spec) ?? []), n])
  }
  const imports = [...bySpec].map(([spec, ns]) => `import { ${ns.join(', ')} } from '${spec}'`)
  const anys = open.map((n) => `declare const ${n}: any${/^[A-Z]/.test(n) ? `\ntype ${n} = any` : ''}`)
  return `${imports.join('\n')}\n${anys.join('\n')}\n${e.code}\nexport {}\n`
}

/** Words that cannot name a variable. */
const RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await async'.split(' '),
)

/** Type names every file sees (besides the global values, which `globalThis` lists). */
const globalTypes = new Set(['Record', 'Partial', 'Readonly', 'ReadonlyArray', 'Pick', 'Omit', 'Exclude', 'Extract', 'ReturnType', 'Parameters', 'NodeJS', 'PromiseLike', 'Iterable', 'AsyncIterable'])

/**
 * What an example, being a fragment, cannot settle: the type of a callback's parameter when its
 * input is one of the names left open (`'e' is of type 'unknown'`, implicit `any`).
 */
const FRAGMENT = new Set([18046, 7005, 7006, 7031, 7034])

/** Type errors of the examples. */
function typeErrors(): string[] {
  const options = { ...config.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false, verbatimModuleSyntax: false, isolatedModules: false }
  const files = new Map(examples.map((e, i) => [exampleFile(e, i), asFile(e)]))
  const index = new Map([...files.keys()].map((f, i) => [f, i]))
  return diagnosticsOf(files, options)
    .filter((d) => !FRAGMENT.has(d.code))
    .map((d) => {
      const e = examples[index.get(d.file!.fileName)!]
      return `${relative(root, e.module)}:${e.line} @example: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    })
}

/** The examples that leave no name to the reader: they can run as written. */
const selfContained = examples.filter((e) => !asFile(e).includes('declare const '))

/**
 * A value a comment says its line gives: the comment parses as a JavaScript expression of literals
 * (`'9h'`, `{ count: 10 }`, `Infinity`); prose (`// a number in [0, 4)`) says nothing checkable.
 */
function claimOf(comment: string): { readonly ok: true } | undefined {
  if (/[A-Za-z_$][\w$]*\s*\(/.test(comment.replace(/'[^']*'|"[^"]*"/g, ''))) return undefined
  try {
    new Function(`return (${comment})`)()
    return { ok: true }
  } catch {
    return undefined
  }
}

/**
 * An example as a program: each line `expression // value` records the expression's value beside
 * the value claimed, in `claims`, which the module exports.
 */
function asProgram(e: Example): string {
  const lines = e.code.split('\n').map((line) => {
    const m = /^(?!\s*(?:const|let|var|import|export)\b)(.*?\S)\s*\/\/\s*(.+)$/.exec(line)
    if (m === null || claimOf(m[2]) === undefined) return line
    return `claims.push([${m[1]}, ${m[2]}, ${JSON.stringify(line)}])`
  })
  return asFile({ ...e, code: `export const claims: [unknown, unknown, string][] = []\n${lines.join('\n')}` })
}

/** A claimed string ending in `...` gives the start of the value; any other claim, all of it. */
function expectClaim([actual, claimed, line]: [unknown, unknown, string]): void {
  if (typeof claimed === 'string' && /\.\.\.$/.test(claimed)) expect(String(actual).startsWith(claimed.replace(/,?\s*\.\.\.$/, '')), line).toBe(true)
  else expect(actual, line).toEqual(claimed)
}

describe('TSDoc examples', () => {
  it('the examples that leave no name to the reader run, and give what they say', async () => {
    expect(selfContained.length).toBeGreaterThanOrEqual(20)
    const failures: string[] = []
    let claims = 0
    for (const [i, e] of selfContained.entries()) {
      const file = join(dirname(e.module), `.example-run-${i}.ts`)
      writeFileSync(file, asProgram(e))
      try {
        const m = (await import(file)) as { claims: [unknown, unknown, string][] }
        for (const c of m.claims) expectClaim(c)
        claims += m.claims.length
      } catch (err) {
        failures.push(`${relative(root, e.module)}:${e.line} @example: ${err instanceof Error ? err.message : String(err)}`)
      } finally {
        rmSync(file, { force: true })
      }
    }
    expect(failures).toEqual([])
    expect(claims).toBeGreaterThanOrEqual(15)
  }, 60_000)


  it('there are examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(60)
  })

  it('every @example type-checks against the code it documents', () => {
    expect(typeErrors()).toEqual([])
  }, 120_000)
})
