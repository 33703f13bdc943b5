import { describe, expect, it } from 'vitest'
import { deadLetterFailure, deadLetterLimitOf } from './deadLetterLimit.ts'

describe('deadLetterFailure', () => {
  it('fails a run whose every record was rejected at the source, with or without a limit', () => {
    expect(deadLetterFailure({ records: 1524, rejected: 1524, deadLetters: 1524 }, undefined)).toBe(
      'every one of the 1,524 records read was a dead letter: is the input a log of what the pipeline reads?',
    )
    expect(deadLetterFailure({ records: 3, rejected: 3, deadLetters: 3 }, { percent: 100 })).toMatch(/^every one of the 3 records/)
  })

  it('passes an empty input, and one with a single good record, without a limit', () => {
    expect(deadLetterFailure({ records: 0, rejected: 0, deadLetters: 0 }, undefined)).toBeUndefined()
    expect(deadLetterFailure({ records: 10, rejected: 9, deadLetters: 9 }, undefined)).toBeUndefined()
  })

  it('fails above a count, not at it', () => {
    expect(deadLetterFailure({ records: 100, rejected: 2, deadLetters: 2 }, { count: 2 })).toBeUndefined()
    expect(deadLetterFailure({ records: 100, rejected: 2, deadLetters: 3 }, { count: 2 })).toBe('3 dead letters, more than --max-dead-letters 2')
  })

  it('fails above a percentage of the records read, not at it', () => {
    expect(deadLetterFailure({ records: 200, rejected: 1, deadLetters: 1 }, { percent: 0.5 })).toBeUndefined()
    expect(deadLetterFailure({ records: 200, rejected: 2, deadLetters: 2 }, { percent: 0.5 })).toBe(
      '2 dead letters in 200 records (1.00%), more than --max-dead-letters 0.5%',
    )
  })
})

describe('deadLetterLimitOf', () => {
  it('reads a count or a percentage', () => {
    expect(deadLetterLimitOf(undefined)).toBeUndefined()
    expect(deadLetterLimitOf('0')).toEqual({ count: 0 })
    expect(deadLetterLimitOf('10')).toEqual({ count: 10 })
    expect(deadLetterLimitOf('0.5%')).toEqual({ percent: 0.5 })
  })

  it.each(['', '%', '-1', 'x', '2.5', '101%', '-3%'])('rejects %j', (v) => {
    expect(() => deadLetterLimitOf(v)).toThrow(/--max-dead-letters must be a count/)
  })
})
