import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  formatRecord,
  isDeadLetter,
  parseLine,
  readLog,
  writeLog,
  type LogEntry,
  type LogRecordInput,
} from './log.ts'
import type { DeadLetter } from '../dsl/sides.ts'

const dir = mkdtempSync(join(tmpdir(), 'weir-log-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const collect = async (src: Parameters<typeof readLog>[0], opts?: Parameters<typeof readLog>[1]) => {
  const batches: LogEntry[][] = []
  for await (const b of readLog(src, opts)) batches.push(b)
  return { batches, entries: batches.flat() }
}

describe('parseLine', () => {
  it('reads a canonical line', () => {
    expect(parseLine('{"offset":17,"arrival":1700000000123,"topic":"clicks","event":{"page":"/"}}', 1)).toEqual({
      offset: 17,
      arrival: 1700000000123,
      topic: 'clicks',
      event: { page: '/' },
    })
  })

  it('defaults offset to the line number and topic to "default" (the docs example)', () => {
    expect(parseLine('{"arrival":5,"event":{"x":1}}', 3)).toEqual({ offset: 3, arrival: 5, topic: 'default', event: { x: 1 } })
  })

  it('accepts any key order, whitespace, CRLF and fractional arrivals', () => {
    expect(parseLine(' { "event" : [1, 2], "topic": "t", "arrival": 2.5 }\r', 9)).toEqual({
      offset: 9,
      arrival: 2.5,
      topic: 't',
      event: [1, 2],
    })
  })

  it('keeps falsy events: null, 0, false and the empty string are events', () => {
    for (const ev of [null, 0, false, ''])
      expect(parseLine(JSON.stringify({ arrival: 1, event: ev }), 1)).toMatchObject({ event: ev })
  })

  it('turns a line that is not JSON into a parse dead letter with its line number and the raw line', () => {
    const d = parseLine('{"arrival":1,"event":', 42) as DeadLetter
    expect(d).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', stage: 'source', pos: 42, input: '{"arrival":1,"event":' })
    expect(d.message).toMatch(/^not JSON: /)
  })

  it.each([
    ['an array', '[1,2]', /expected an object/],
    ['a number', '12', /expected an object/],
    ['null', 'null', /expected an object/],
    ['no arrival', '{"event":1}', /arrival must be a finite number, got nothing/],
    ['a string arrival', '{"arrival":"5","event":1}', /arrival must be a finite number, got "5"/],
    ['no event', '{"arrival":5}', /event is missing/],
    ['a negative offset', '{"offset":-1,"arrival":5,"event":1}', /offset must be a non-negative integer/],
    ['a fractional offset', '{"offset":1.5,"arrival":5,"event":1}', /offset must be a non-negative integer/],
    ['a numeric topic', '{"arrival":5,"topic":3,"event":1}', /topic must be a string/],
  ])('turns JSON that is not a log record (%s) into a parse dead letter', (_, line, message) => {
    const d = parseLine(line, 7) as DeadLetter
    expect(isDeadLetter(d)).toBe(true)
    expect(d.reason).toBe('parse')
    expect(d.pos).toBe(7)
    expect(d.message).toMatch(message)
  })

  it('skips blank lines', () => {
    expect(parseLine('', 1)).toBeUndefined()
    expect(parseLine('  \r', 1)).toBeUndefined()
  })

  it('follows JSON exactly: a leading zero is not JSON, an exponent is a number, a repeated key keeps its last value', () => {
    expect(parseLine('{"offset":01,"arrival":1,"event":1}', 5)).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', pos: 5 })
    expect(parseLine('{"arrival":1e3,"event":1}', 5)).toMatchObject({ arrival: 1000 })
    expect(parseLine('{"offset":1,"offset":2,"arrival":1,"event":1}', 5)).toMatchObject({ offset: 2 })
    expect(parseLine('{"arrival":1,"event":{"a":1}}}', 5)).toMatchObject({ _tag: 'DeadLetter', pos: 5 })
  })
})

describe('readLog', () => {
  it('skips a byte-order mark at the start of a file or of the first line, and nowhere else', async () => {
    const path = join(dir, 'bom.ndjson')
    writeFileSync(path, '\uFEFF{"arrival":1,"event":1}\n\uFEFF{"arrival":2,"event":2}\n')
    const { entries } = await collect(path, { chunkSize: 5 })
    expect(entries.map((e) => (isDeadLetter(e) ? `dead@${e.pos}` : e.event))).toEqual([1, 'dead@2'])
    const fromLines = await collect(['\uFEFF{"arrival":1,"event":1}'])
    expect(fromLines.entries.map((e) => (isDeadLetter(e) ? 'dead' : e.event))).toEqual([1])
  })

  it('reads a line far longer than a chunk (each chunk scans only what is new)', async () => {
    const path = join(dir, 'long.ndjson')
    const big = 'x'.repeat(300_000)
    writeFileSync(path, `{"arrival":1,"event":"${big}"}\n{"arrival":2,"event":2}\n`)
    const { entries } = await collect(path, { chunkSize: 64 })
    expect(entries.map((e) => (isDeadLetter(e) ? 'dead' : typeof e.event === 'string' ? e.event.length : e.event))).toEqual([300_000, 2])
  })

  it('reads a file in small chunks: line numbers, CRLF, blank lines, multi-byte text split across chunks, no final newline', async () => {
    const path = join(dir, 'mixed.ndjson')
    const lines = [
      '{"offset":10,"arrival":100,"topic":"a","event":{"name":"Zürich ☕ 東京"}}',
      '',
      '{"arrival":101,"event":{"n":2}}\r',
      'not json',
      '{"arrival":102,"event":"émoji 🎉"}',
    ]
    writeFileSync(path, lines.join('\n'))
    const { entries, batches } = await collect(path, { chunkSize: 7 })
    expect(batches.length).toBeGreaterThan(1)
    expect(entries.map((e) => (isDeadLetter(e) ? `dead@${e.pos}` : `${e.offset}:${e.topic}:${JSON.stringify(e.event)}`))).toEqual([
      '10:a:{"name":"Zürich ☕ 東京"}',
      '3:default:{"n":2}',
      'dead@4',
      '5:default:"émoji 🎉"',
    ])
  })

  it('reports the bytes read so far, ending at the file size', async () => {
    const path = join(dir, 'progress.ndjson')
    writeFileSync(path, Array.from({ length: 100 }, (_, i) => formatRecord({ arrival: i, event: i })).join('\n') + '\n')
    const seen: number[] = []
    await collect(path, { chunkSize: 256, onProgress: (b) => seen.push(b) })
    expect(seen.length).toBeGreaterThan(3)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    expect(seen.at(-1)).toBe(readFileSync(path).length)
  })

  it('rejects with the file system error for a missing file', async () => {
    await expect(collect(join(dir, 'nope.ndjson'))).rejects.toThrow(/ENOENT/)
  })

  it('reads a sync iterable of lines and records in batches of batchSize, counting lines from 1', async () => {
    const items: Array<string | LogRecordInput> = [
      '{"arrival":1,"event":"a"}',
      { arrival: 2, event: 'b' },
      '',
      { arrival: 'x', event: 'c' } as unknown as LogRecordInput,
      '{"arrival":4,"event":"d"}',
    ]
    const { batches } = await collect(items, { batchSize: 2 })
    expect(batches.map((b) => b.length)).toEqual([2, 2])
    expect(batches.flat().map((e) => (isDeadLetter(e) ? `dead@${e.pos}` : `${e.offset}=${String(e.event)}`))).toEqual([
      '1=a',
      '2=b',
      'dead@4',
      '5=d',
    ])
  })

  it('reads an async iterable of lines', async () => {
    async function* lines() {
      for (let i = 0; i < 5; i++) yield formatRecord({ arrival: i * 10, event: i })
    }
    const { entries } = await collect(lines(), { batchSize: 3 })
    expect(entries.map((e) => (isDeadLetter(e) ? -1 : e.arrival))).toEqual([0, 10, 20, 30, 40])
  })

  it('stops reading the file when the consumer stops early', async () => {
    const path = join(dir, 'early.ndjson')
    writeFileSync(path, Array.from({ length: 1000 }, (_, i) => formatRecord({ arrival: i, event: i })).join('\n'))
    let first: LogEntry | undefined
    for await (const b of readLog(path, { chunkSize: 64 })) {
      first = b[0]
      break
    }
    expect(first).toMatchObject({ offset: 1, arrival: 0 })
  })
})

describe('readLog: lines parsed by their shape', () => {
  // The file's lines share a shape: after the first chunk, they are parsed from their bytes (harness/lineShapes.ts).
  const line = (i: number) => formatRecord({ offset: i, arrival: 1_000 + i * 0.5, topic: 't', event: { id: i, zone: `z${i % 3}`, fare: -i / 4, ok: i % 2 === 0, note: null } })

  it('reads a file of one shape as JSON.parse reads each line, and a line of another shape or a malformed one as before, at its line', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => line(i + 1))
    lines[100] = '{"arrival":7,"event":{"id":"other"}}'
    lines[150] = '{"offset":151,"arrival":1,"topic":"t","event":{"id":1,"zone":"z","fare":01,"ok":true,"note":null}}'
    lines[200] = ' ' + line(201)
    lines[250] = ''
    const path = join(dir, 'shaped.ndjson')
    writeFileSync(path, lines.join('\n') + '\n')
    const { entries } = await collect(path, { chunkSize: 1024 })
    const want = lines.flatMap((l, i) => parseLine(l, i + 1) ?? [])
    expect(entries).toEqual(want)
    expect(entries[100]).toEqual({ offset: 101, arrival: 7, topic: 'default', event: { id: 'other' } })
    expect(entries[150]).toMatchObject({ _tag: 'DeadLetter', reason: 'parse', pos: 151 })
    expect(entries).toHaveLength(299)
  })

  it('reads a CRLF file by shape as well, as JSON.parse reads its lines', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => line(i + 1))
    const path = join(dir, 'shaped-crlf.ndjson')
    writeFileSync(path, lines.join('\r\n') + '\r\n')
    const { entries } = await collect(path, { chunkSize: 512 })
    expect(entries).toEqual(lines.map((l, i) => parseLine(l + '\r', i + 1)))
  })

  it('a valid JSON line of the shape that is not a log record is the dead letter parseLine gives, with the line as its input', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => line(i + 1))
    lines[80] = lines[80].replace('"offset":81', '"offset":-81')
    const path = join(dir, 'shaped-bad.ndjson')
    writeFileSync(path, lines.join('\n') + '\n')
    const { entries } = await collect(path, { chunkSize: 512 })
    expect(entries[80]).toEqual(parseLine(lines[80], 81))
    expect((entries[80] as DeadLetter).input).toBe(lines[80])
  })
})

describe('formatRecord and writeLog', () => {
  it('formats in canonical key order (the docs example)', () => {
    expect(formatRecord({ offset: 1, arrival: 10, topic: 't', event: { x: 1 } })).toBe('{"offset":1,"arrival":10,"topic":"t","event":{"x":1}}')
  })

  it('refuses records JSON cannot represent', () => {
    expect(() => formatRecord({ arrival: 1, event: undefined })).toThrow(/event must not be undefined/)
    expect(() => formatRecord({ arrival: Number.NaN, event: 1 })).toThrow(/arrival must be a finite number/)
  })

  it('round-trips through readLog, numbering offsets by line and filling the topic', async () => {
    const path = join(dir, 'written.ndjson')
    const w = writeLog(path, { topic: 'clicks' })
    w.write({ arrival: 5, event: { page: '/' } })
    w.write({ offset: 99, arrival: 6, topic: 'other', event: [1] })
    w.write({ arrival: 7, event: 'x' })
    expect(w.count).toBe(3)
    await w.close()
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('{"offset":1,"arrival":5,"topic":"clicks","event":{"page":"/"}}')
    const { entries } = await collect(path)
    expect(entries).toEqual([
      { offset: 1, arrival: 5, topic: 'clicks', event: { page: '/' } },
      { offset: 99, arrival: 6, topic: 'other', event: [1] },
      { offset: 3, arrival: 7, topic: 'clicks', event: 'x' },
    ])
  })

  it('signals backpressure with false and resumes after drained()', async () => {
    const path = join(dir, 'big.ndjson')
    const w = writeLog(path)
    let refused = 0
    for (let i = 0; i < 20_000; i++) {
      if (!w.write({ arrival: i, event: { payload: 'x'.repeat(50), i } })) {
        refused++
        await w.drained()
      }
    }
    await w.close()
    expect(refused).toBeGreaterThan(0)
    const { entries } = await collect(path)
    expect(entries.length).toBe(20_000)
    expect(entries.at(-1)).toMatchObject({ offset: 20_000, arrival: 19_999 })
  })

  it('rejects close() when the file cannot be written', async () => {
    const w = writeLog(join(dir, 'no-such-dir', 'x.ndjson'))
    w.write({ arrival: 1, event: 1 })
    await expect(w.close()).rejects.toThrow(/ENOENT/)
  })
})

describe('readLog: long lines (maxLineBytes)', () => {
  const rec = (n: number) => formatRecord({ arrival: n, event: n })
  const summary = (entries: LogEntry[]) =>
    entries.map((e) => (isDeadLetter(e) ? `${e.reason}@${e.pos}: ${e.message}` : `event ${String(e.event)} at line ${e.offset}`))

  it('a line over the limit is a too-long dead letter with its line number, byte position and length; the lines around it are read', async () => {
    const path = join(dir, 'limit.ndjson')
    const long = formatRecord({ arrival: 2, event: 'y'.repeat(200) })
    writeFileSync(path, [rec(1), long, rec(3)].join('\n') + '\n')
    for (const chunkSize of [64 * 1024, 16, 7]) {
      const { entries } = await collect(path, { maxLineBytes: 100, chunkSize })
      expect(summary(entries), `chunkSize ${chunkSize}`).toEqual([
        'event 1 at line 1',
        `too-long@2: line 2 (at byte ${rec(1).length + 1}) is ${long.length} bytes long, over maxLineBytes 100`,
        'event 3 at line 3',
      ])
      expect((entries[1] as DeadLetter).input).toBe(long.slice(0, 256))
    }
  })

  it('a line of exactly maxLineBytes bytes is read, one byte more is not (in one chunk and across chunks)', async () => {
    const path = join(dir, 'edge.ndjson')
    const line = rec(7)
    writeFileSync(path, `${line}\n${line} \n`)
    for (const chunkSize of [64 * 1024, 5]) {
      const { entries } = await collect(path, { maxLineBytes: line.length, chunkSize })
      expect(summary(entries), `chunkSize ${chunkSize}`).toEqual([
        'event 7 at line 1',
        `too-long@2: line 2 (at byte ${line.length + 1}) is ${line.length + 1} bytes long, over maxLineBytes ${line.length}`,
      ])
    }
  })

  it('a line over the limit split across many chunks, last in a file with no final newline, is one dead letter', async () => {
    const path = join(dir, 'split.ndjson')
    const long = formatRecord({ arrival: 2, event: 'é'.repeat(50_000) })
    writeFileSync(path, `${rec(1)}\n${long}\n${rec(3)}\n${long}`)
    const bytes = Buffer.byteLength(long)
    const { entries } = await collect(path, { maxLineBytes: 1000, chunkSize: 64 })
    expect(summary(entries)).toEqual([
      'event 1 at line 1',
      `too-long@2: line 2 (at byte ${rec(1).length + 1}) is ${bytes} bytes long, over maxLineBytes 1000`,
      'event 3 at line 3',
      `too-long@4: line 4 (at byte ${rec(1).length + rec(3).length + bytes + 3}) is ${bytes} bytes long, over maxLineBytes 1000`,
    ])
  })

  it('lines given as strings are measured in UTF-8 bytes too', async () => {
    const long = formatRecord({ arrival: 2, event: '東'.repeat(40) })
    const { entries } = await collect([rec(1), long, rec(3)], { maxLineBytes: 100 })
    expect(summary(entries)).toEqual(['event 1 at line 1', `too-long@2: line 2 is ${Buffer.byteLength(long)} bytes long, over maxLineBytes 100`, 'event 3 at line 3'])
  })

  it('reads a byte stream (standard input) as a file, with the same limit', async () => {
    const { Readable } = await import('node:stream')
    const long = formatRecord({ arrival: 2, event: 'z'.repeat(500) })
    const text = `${rec(1)}\n${long}\n${rec(3)}\n`
    const chunks = Array.from({ length: Math.ceil(text.length / 10) }, (_, i) => Buffer.from(text.slice(i * 10, i * 10 + 10)))
    const { entries } = await collect(Readable.from(chunks), { maxLineBytes: 100 })
    expect(summary(entries)).toEqual([
      'event 1 at line 1',
      `too-long@2: line 2 (at byte ${rec(1).length + 1}) is ${long.length} bytes long, over maxLineBytes 100`,
      'event 3 at line 3',
    ])
  })

  it('refuses a maxLineBytes that is not a positive integer', async () => {
    await expect(collect([rec(1)], { maxLineBytes: 0 })).rejects.toThrow(/maxLineBytes must be a positive integer, got 0/)
  })
})

describe('readLog: follow', () => {
  it('reads a file as it grows: a half-written line waits for its newline; at the stop, an unfinished last line is a dead letter', async () => {
    const { appendFileSync } = await import('node:fs')
    const path = join(dir, 'growing.ndjson')
    writeFileSync(path, '{"arrival":1,"event":1}\n{"arrival":2,"ev')
    const stop = new AbortController()
    const seen: string[] = []
    const reading = (async () => {
      for await (const b of readLog(path, { follow: { signal: stop.signal, pollMs: 5 } }))
        for (const e of b) seen.push(isDeadLetter(e) ? `${e.reason}@${e.pos}: ${e.message}` : `event ${String(e.event)}`)
    })()
    const until = async (n: number) => {
      for (let i = 0; i < 400 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 5))
    }
    await until(1)
    await new Promise((r) => setTimeout(r, 30))
    expect(seen).toEqual(['event 1'])
    appendFileSync(path, 'ent":2}\n{"arrival":3,"event":3}\n{"arr')
    await until(3)
    expect(seen).toEqual(['event 1', 'event 2', 'event 3'])
    stop.abort()
    await reading
    expect(seen).toEqual([
      'event 1',
      'event 2',
      'event 3',
      'parse@4: line 4 (at byte 72) has no newline yet: 5 bytes the writer had not finished when following stopped',
    ])
  })
})

describe('edge cases', () => {
  describe('log format', () => {
    it('formatRecord refuses a NaN offset, which JSON writes as null and readLog then rejects', () => {
      expect(() => formatRecord({ offset: Number.NaN, arrival: 1, event: 1 })).toThrow(/offset/)
    })
  })
})
