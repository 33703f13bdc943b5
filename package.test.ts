import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * The package as a user gets it: `npm pack`, then the tarball installed into a new project with
 * only the core peers (`npm install weirjs rxjs io-ts fp-ts`, as the README says), used from plain
 * `node` (ESM and CommonJS), from a strict NodeNext TypeScript project and through the `weir`
 * command. One pack and one install for the whole file; the optional peers are then linked from
 * this repository's node_modules for the checks that need them.
 */
const root = import.meta.dirname
const work = mkdtempSync(join(tmpdir(), 'weirjs-consumer-'))
const app = join(work, 'app')
afterAll(() => rmSync(work, { recursive: true, force: true }))

const exec = promisify(execFile)
const sh = (cmd: string, args: string[], cwd = app) => exec(cmd, args, { cwd, maxBuffer: 16 * 2 ** 20, timeout: 180_000 })
const node = (args: string[]) => sh(process.execPath, args)
/** Runs a command expected to fail, returning its exit code and output. */
const failing = (cmd: string, args: string[]) =>
  sh(cmd, args).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )

interface Packed {
  filename: string
  size: number
  unpackedSize: number
  files: { path: string }[]
}
let packed: Packed
let installed: { stdout: string; stderr: string }
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string

beforeAll(async () => {
  // prepack builds dist/ first.
  const { stdout } = await sh('npm', ['pack', '--json', '--pack-destination', work], root)
  packed = (JSON.parse(stdout) as Packed[])[0]
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  installed = await sh('npm', ['install', join(work, packed.filename), 'rxjs', 'io-ts', 'fp-ts', '--prefer-offline', '--no-audit', '--no-fund'])
}, 300_000)

describe('the weirjs tarball', () => {
  it('holds only the build, the weir command and the docs, in under 400 kB', () => {
    for (const f of packed.files) expect(f.path).toMatch(/^(dist\/.*\.(js|d\.ts)|bin\/weir\.mjs|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/)
    expect(packed.files.some((f) => /\.test\.|fixtures|examples\//.test(f.path))).toBe(false)
    for (const entry of ['index', 'property-tests/index', 'harness/testing', 'connectors/redis/index', 'connectors/postgres/index', 'notebook/index'])
      for (const ext of ['.js', '.d.ts']) expect(packed.files.map((f) => f.path)).toContain(`dist/${entry}${ext}`)
    expect(packed.size).toBeLessThan(400_000)
  })
})

describe('installed with the core peers only', () => {
  it('installs no optional peer and prints no warning', () => {
    expect(installed.stderr).toBe('')
    for (const peer of ['fast-check', 'ioredis', 'pg', 'tsx', 'esbuild', 'vega', 'vega-lite', 'avsc', 'msgpackr'])
      expect(existsSync(join(app, 'node_modules', peer)), `${peer} installed`).toBe(false)
  })

  it('runs a window pipeline from an ES module under plain node', async () => {
    writeFileSync(
      join(app, 'window.mjs'),
      `import { pipeline, pipe, keyBy, window, tumbling, aggregate, count, sum, run } from 'weirjs'
const perKey = pipeline({ eventTime: (e) => e.t }, (s) =>
  pipe(s, keyBy((e) => e.k), window(tumbling(10)), aggregate({ n: count, total: sum((e) => e.v) })))
const { out } = await run(perKey, [{ k: 'a', t: 1, v: 1 }, { k: 'a', t: 5, v: 2 }, { k: 'b', t: 7, v: 5 }, { k: 'a', t: 12, v: 4 }])
console.log(JSON.stringify(out.map((r) => [r.key, r.window.start, r.value])))
`,
    )
    const { stdout, stderr } = await node(['window.mjs'])
    expect(stderr).toBe('')
    expect(JSON.parse(stdout)).toEqual([
      ['a', 0, { n: 2, total: 3 }],
      ['b', 0, { n: 1, total: 5 }],
      ['a', 10, { n: 1, total: 4 }],
    ])
  })

  it('loads with require() from CommonJS', async () => {
    writeFileSync(
      join(app, 'explain.cjs'),
      `const { pipeline, map, explain } = require('weirjs')
const { pipe } = require('fp-ts/function')
const doubled = pipeline({ name: 'doubled', eventTime: (e) => e.t }, (s) => pipe(s, map((e) => e.t * 2)))
console.log(explain(doubled).split('\\n')[0])
`,
    )
    const { stdout } = await node(['explain.cjs'])
    expect(stdout).toBe('pipeline doubled\n')
  })

  it('npx weir --version prints the version', async () => {
    const { stdout } = await sh('npx', ['weir', '--version'])
    expect(stdout).toBe(`${version}\n`)
  })

  it('weir runs a .js pipeline module without tsx, and says in one line that a .ts one needs it', async () => {
    const job = `import { pipeline, map } from 'weirjs'
export default pipeline({ name: 'job', eventTime: (e) => e.n }, (s) => map((e) => ({ twice: e.n * 2 }))(s))
`
    writeFileSync(join(app, 'job.mjs'), job)
    writeFileSync(join(app, 'job.ts'), job.replaceAll('(e)', '(e: { n: number })'))
    writeFileSync(join(app, 'in.ndjson'), '{"arrival":1,"event":{"n":1}}\n{"arrival":2,"event":{"n":2}}\n')
    const { stdout } = await sh('npx', ['weir', 'run', 'job.mjs', '--log', 'in.ndjson'])
    expect(stdout).toBe('{"twice":2}\n{"twice":4}\n')
    const ts = await failing('npx', ['weir', 'run', 'job.ts', '--log', 'in.ndjson'])
    expect(ts.code).toBe(2)
    expect(ts.stderr).toBe('weir: loading a TypeScript pipeline module (job.ts) needs the tsx package, which is not installed (npm install tsx)\n')
  })

  it('weirjs/notebook prints tables without vega; save and weir report say in one line that they need vega and vega-lite', async () => {
    writeFileSync(
      join(app, 'notebook.mjs'),
      `import { show, chart, save } from 'weirjs/notebook'
show([{ key: 'a', n: 1 }])
await save(chart([{ t: 1, n: 2 }], { x: 't', y: 'n' }), 'n.svg').catch((e) => console.log(e.name + ': ' + e.message))
`,
    )
    const { stdout } = await node(['notebook.mjs'])
    expect(stdout).toBe(
      'key  n\n───  ─\na    1\nMissingRendererError: rendering charts needs the vega and vega-lite packages, which are not installed (npm install vega vega-lite)\n',
    )
    const report = await failing('npx', ['weir', 'report', 'job.mjs', '--log', 'in.ndjson', '--out', 'r.html'])
    expect(report.code).toBe(2)
    expect(report.stderr).toBe('weir: report: rendering charts needs the vega and vega-lite packages, which are not installed (npm install vega vega-lite)\n')
  })

  it('json() works without avsc or msgpackr; avro() and msgpack() say in one line that they need them', async () => {
    writeFileSync(
      join(app, 'encodings.mjs'),
      `import { avro, msgpack, json } from 'weirjs'
console.log(JSON.stringify(json().decode(json().encode({ a: 1 }))))
for (const make of [() => avro({ type: 'record', name: 'A', fields: [] }), () => msgpack()])
  try { make() } catch (e) { console.log(e.name + ': ' + e.message) }
`,
    )
    const { stdout } = await node(['encodings.mjs'])
    expect(stdout).toBe(
      '{"a":1}\n' +
        'MissingPeerError: the avro encoding needs the avsc package, which is not installed (npm install avsc)\n' +
        'MissingPeerError: the msgpack encoding needs the msgpackr package, which is not installed (npm install msgpackr)\n',
    )
  })
})

describe('with the optional peers', () => {
  beforeAll(() => {
    for (const peer of ['fast-check', 'ioredis', 'pg', 'tsx', '@types/pg', '@types/node']) {
      mkdirSync(join(app, 'node_modules', peer, '..'), { recursive: true })
      symlinkSync(join(root, 'node_modules', peer), join(app, 'node_modules', peer))
    }
  })

  it('a strict NodeNext TypeScript project using the main entry and every subpath compiles with zero errors', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'] },
        include: ['consumer.ts'],
      }),
    )
    writeFileSync(
      join(app, 'consumer.ts'),
      `import * as t from 'io-ts'
import { pipe } from 'fp-ts/function'
import { aggregate, avro, count, keyBy, mean, msgpack, pipeline, run, tumbling, window, type Encoding, type WindowResult } from 'weirjs'
import { eventLog, orderInsensitive, type LogEvent } from 'weirjs/property-tests'
import { replay, VirtualClock, type RunResult } from 'weirjs/testing'
import { redisSource, type RedisSourceOptions } from 'weirjs/redis'
import { pgChanges, type RowChange } from 'weirjs/postgres'
import { chart, save, show, type ChartSpec } from 'weirjs/notebook'

const Trip = t.type({ zone: t.string, fare: t.number, at: t.number })
const fares = pipeline({ codec: Trip, eventTime: (trip) => trip.at }, (trips) =>
  pipe(trips, keyBy((trip) => trip.zone), window(tumbling('1m')), aggregate({ trips: count, fare: mean((trip) => trip.fare) })),
)
export const result: Promise<RunResult<WindowResult<string, { trips: number; fare: number }>>> = run(fares, [])
export const replayed = replay(fares, 'trips.ndjson')
export const kit = [eventLog, orderInsensitive, VirtualClock, redisSource, pgChanges, show, save] as const
export const spec: ChartSpec = chart([{ t: 1, n: 2 }], { x: 't', y: 'n' })
export type Used = [RedisSourceOptions, RowChange, LogEvent]
export const encodings: (() => Encoding)[] = [() => avro({ type: 'record', name: 'A', fields: [] }), msgpack]
`,
    )
    const tsc = await failing(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'])
    expect(tsc.stdout).toBe('')
    expect(tsc.code).toBe(0)
  }, 120_000)

  it('weir runs a .ts pipeline module through tsx', async () => {
    const { stdout } = await sh('npx', ['weir', 'run', 'job.ts', '--log', 'in.ndjson'])
    expect(stdout).toBe('{"twice":2}\n{"twice":4}\n')
  })

  it('the subpaths load under plain node', async () => {
    const { stdout } = await node([
      '--input-type=module',
      '-e',
      `for (const p of ['property-tests', 'testing', 'redis', 'postgres', 'notebook']) console.log(p, Object.keys(await import('weirjs/' + p)).length > 0)`,
    ])
    expect(stdout).toBe('property-tests true\ntesting true\nredis true\npostgres true\nnotebook true\n')
  })
})
