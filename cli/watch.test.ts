import { afterAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'weir-watch-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Resolves once `text()` satisfies `ok`, or rejects after `ms`. */
const until = (text: () => string, ok: (s: string) => boolean, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now()
    const tick = setInterval(() => {
      if (ok(text())) {
        clearInterval(tick)
        resolve()
      } else if (Date.now() - started > ms) {
        clearInterval(tick)
        reject(new Error(`timed out; output so far:\n${text()}`))
      }
    }, 50)
  })

describe('weir run --watch', () => {
  it('runs again when a file the module imports changes, with the new code', async () => {
    writeFileSync(
      join(dir, 'job.ts'),
      `import { map, pipeline } from ${JSON.stringify(join(root, 'index.ts'))}
import { factor } from './helper.ts'
export default pipeline({ name: 'job' }, (s) => map((e: { n: number }) => ({ out: e.n * factor }))(s))
`,
    )
    writeFileSync(join(dir, 'helper.ts'), 'export const factor = 2\n')
    writeFileSync(join(dir, 'in.ndjson'), '{"arrival":1,"event":{"n":1}}\n{"arrival":2,"event":{"n":2}}\n')
    const child = spawn(process.execPath, [join(root, 'bin/weir.mjs'), 'run', 'job.ts', '--log', 'in.ndjson', '--watch'], { cwd: dir, detached: true })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b))
    child.stderr.on('data', (b: Buffer) => (err += b))
    try {
      await until(() => err, (s) => s.includes('weir: job: 2 events in'), 30_000)
      expect(err).toMatch(/^weir: watching job\.ts and the files it imports; runs again on each change \(Ctrl-C stops\)\n/)
      expect(out).toContain('{"out":2}\n{"out":4}\n')
      writeFileSync(join(dir, 'helper.ts'), 'export const factor = 3\n')
      await until(() => out, (s) => s.includes('{"out":3}\n{"out":6}\n'), 30_000)
    } finally {
      process.kill(-child.pid!, 'SIGTERM')
    }
  }, 70_000)
})
