import { describe, expect, it } from 'vitest'
import { csvWriter } from './csv.ts'
import { blockWriter } from './output.ts'

const csvOf = (outputs: readonly unknown[]): string => {
  let text = ''
  const w = csvWriter(blockWriter((s) => (text += s)))
  for (const o of outputs) w.write(o)
  w.close()
  return text
}

describe('csvWriter', () => {
  it('writes a header from the first output, flattening nested objects with dotted names', () => {
    expect(csvOf([{ key: 'ORD', window: { start: 0, end: 60_000 }, value: { n: 2, avg: 1.5 } }, { key: 'ATL', window: { start: 0, end: 60_000 }, value: { n: 1, avg: 3 } }])).toBe(
      'key,window.start,window.end,value.n,value.avg\nORD,0,60000,2,1.5\nATL,0,60000,1,3\n',
    )
  })

  it('quotes cells with commas, quotes, line breaks or edge spaces, and doubles quotes', () => {
    expect(csvOf([{ a: 'x,y', b: 'say "hi"', c: 'two\nlines', d: ' pad', e: 'plain' }])).toBe('a,b,c,d,e\n"x,y","say ""hi""","two\nlines"," pad",plain\n')
  })

  it('writes arrays as JSON cells, missing fields and null as empty cells, and dates as ISO text', () => {
    expect(csvOf([{ ids: [1, 2], x: null, at: new Date(0) }, { ids: [] }])).toBe('ids,x,at\n"[1,2]",,1970-01-01T00:00:00.000Z\n[],,\n')
  })

  it('writes outputs that are not objects as one column, value', () => {
    expect(csvOf([1, 'two'])).toBe('value\n1\ntwo\n')
  })

  it('fails, naming the field, when a later output has a field the header lacks', () => {
    expect(() => csvOf([{ a: 1 }, { a: 2, b: 3 }])).toThrow("--format csv: output 2 has a field 'b' that the first output, whose fields are the columns, has not (use --format ndjson)")
  })
})
