import { describe, expect, it } from 'vitest'
import { deadLetter, type Late } from '../dsl/sides.ts'
import { sideOutputLine } from './sideOutputLine.ts'

describe('sideOutputLine', () => {
  it('writes a dead letter with its reason, stage, position, message and input', () => {
    expect(JSON.parse(sideOutputLine(deadLetter('parse', 'source', 3, 'not JSON', '{oops')))).toEqual({
      _tag: 'DeadLetter',
      reason: 'parse',
      stage: 'source',
      pos: 3,
      message: 'not JSON',
      input: '{oops',
    })
  })

  it('writes a late event with its time, watermark, stage, position and windows', () => {
    const l: Late = { _tag: 'Late', value: { t: 5 }, time: 5, key: 'a', pos: 9, watermark: 20, stage: 'window', windows: [{ start: 0, end: 10 }] }
    expect(JSON.parse(sideOutputLine(l))).toEqual(l)
  })

  describe('edges', () => {
    it('an input JSON cannot hold (a BigInt, nesting deeper than the stack) is left out, saying why; the record stays', () => {
      let deep: unknown = 1
      for (let i = 0; i < 100_000; i++) deep = [deep]
      for (const input of [{ n: 1n }, deep]) {
        const line = JSON.parse(sideOutputLine(deadLetter('codec', 'source', 7, 'bad', input)))
        expect(line).toMatchObject({ _tag: 'DeadLetter', reason: 'codec', pos: 7, message: 'bad' })
        expect(line.input).toBeUndefined()
        expect(line.inputError).toMatch(/^cannot be written as JSON: /)
      }
    })

    it('a late event whose value JSON cannot hold keeps the rest', () => {
      const l: Late = { _tag: 'Late', value: { n: 1n }, time: 5, key: 'a', pos: 9, watermark: 20, stage: 'window', windows: [] }
      expect(JSON.parse(sideOutputLine(l))).toMatchObject({ _tag: 'Late', time: 5, pos: 9, watermark: 20, valueError: expect.stringMatching(/BigInt/) })
    })
  })
})
