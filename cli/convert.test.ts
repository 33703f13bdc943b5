import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main, type CliIO } from './weir.ts'

const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'weir-convert-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const FLIGHTS = 'examples/data/flights.ndjson'
const SCHEMA = 'examples/data/flight.avsc'

async function weir(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: root, env: {} }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}

describe('weir convert', () => {
  it('writes the bundled flights as Avro and MessagePack logs that weir run replays to the same output, and back to the same NDJSON', async () => {
    const avroLog = join(dir, 'flights.avro')
    const packed = join(dir, 'flights.msgpack')
    const back = join(dir, 'flights.ndjson')
    expect(await weir(['convert', '--log', FLIGHTS, '--out', avroLog, '--encoding', 'avro', '--schema', SCHEMA])).toEqual({
      code: 0,
      stdout: '',
      stderr: `weir: converted 20,000 records to avro in ${avroLog}\n`,
    })
    expect((await weir(['convert', '--log', FLIGHTS, '--out', packed, '--encoding', 'msgpack'])).code).toBe(0)
    expect(statSync(avroLog).size).toBeLessThan(statSync(join(root, FLIGHTS)).size / 2.5)
    const fromJson = await weir(['run', 'cli/fixtures/flightDelays.ts', '--log', FLIGHTS])
    for (const log of [avroLog, packed]) {
      const r = await weir(['run', 'cli/fixtures/flightDelays.ts', '--log', log])
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(fromJson.stdout)
    }
    expect((await weir(['convert', '--log', avroLog, '--out', back, '--encoding', 'json'])).code).toBe(0)
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(join(root, FLIGHTS), 'utf8'))
  })

  it('weir run reports a corrupt block as a dead letter at its first record, and goes on at the next block', async () => {
    const log = join(dir, 'corrupt.msgpack')
    // 300 records: blocks of 256 and 44.
    const lines = readFileSync(join(root, FLIGHTS), 'utf8').split('\n').slice(0, 300).join('\n') + '\n'
    writeFileSync(join(dir, 'some.ndjson'), lines)
    expect((await weir(['convert', '--log', join(dir, 'some.ndjson'), '--out', log, '--encoding', 'msgpack'])).code).toBe(0)
    const bytes = readFileSync(log)
    bytes[200] ^= 0x55
    writeFileSync(log, bytes)
    const r = await weir(['run', 'cli/fixtures/flightDelays.ts', '--log', log])
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(44)
    expect(r.stderr).toMatch(/^weir: dead letter \(parse\) in source at record 1: the block at byte \d+ \(from record 1\) is corrupt: its checksum does not match; skipped \d+ bytes to the next good block, at byte \d+\n/)
  })

  it.each([
    [['convert', '--log', FLIGHTS, '--out', 'x'], 'weir: convert needs --encoding json|avro|msgpack (the encoding to write)\n'],
    [['convert', '--log', FLIGHTS, '--out', 'x', '--encoding', 'xml'], "weir: --encoding must be json|avro|msgpack, got 'xml'\n"],
    [['convert', '--log', FLIGHTS, '--out', 'x', '--encoding', 'avro'], 'weir: --encoding avro needs --schema <file.avsc> (the Avro schema of the events)\n'],
    [['convert', '--log', FLIGHTS, '--out', 'x', '--encoding', 'msgpack', '--schema', SCHEMA], 'weir: --schema is for --encoding avro (msgpack has no schema)\n'],
    [['convert', '--log', FLIGHTS, '--out', 'x', '--encoding', 'avro', '--schema', 'nope.avsc'], /^weir: --encoding avro: avro: cannot read the schema file .*nope\.avsc: ENOENT/],
    [['convert', '--log', FLIGHTS, '--out', FLIGHTS, '--encoding', 'json'], `weir: --out ${FLIGHTS} is the --log file; write the converted log elsewhere\n`],
    [['convert', '--log', 'missing.ndjson', '--out', 'x', '--encoding', 'json'], 'weir: no such log file: missing.ndjson\n'],
  ])('a usage mistake is one line and exit 2: %j', async (argv, message) => {
    const r = await weir(argv)
    expect(r.code).toBe(2)
    if (typeof message === 'string') expect(r.stderr).toBe(message)
    else expect(r.stderr).toMatch(message)
  })
})
