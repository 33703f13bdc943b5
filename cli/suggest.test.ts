import { describe, expect, it } from 'vitest'
import { didYouMean } from './suggest.ts'

describe('didYouMean', () => {
  const runFlags = ['log', 'out', 'fail-fast', 'topic', 'max-dead-letters', 'format']

  it('finds a swapped pair of letters', () => {
    expect(didYouMean('lgo', runFlags)).toBe('log')
  })

  it('finds a missing or extra letter', () => {
    expect(didYouMean('fromat', runFlags)).toBe('format')
    expect(didYouMean('failfast', runFlags)).toBe('fail-fast')
    expect(didYouMean('topics', runFlags)).toBe('topic')
  })

  it('completes a prefix', () => {
    expect(didYouMean('max-dead', runFlags)).toBe('max-dead-letters')
  })

  it('guesses nothing when nothing is close', () => {
    expect(didYouMean('nope', runFlags)).toBeUndefined()
    expect(didYouMean('x', runFlags)).toBeUndefined()
  })
})
