import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const operators = join(dirname(fileURLToPath(import.meta.url)), '..')
const sources = readdirSync(operators, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('testing'))

describe('stageSubscriber', () => {
  it('is how every operator subscribes to an element stream (no observer object of its own)', () => {
    // An observer object goes through RxJS's SafeSubscriber wrappers, and a throw in it reaches
    // RxJS's unhandled-error hook instead of the run's error channel.
    const bypassing = sources.filter((f) => /\b(?:source|input|inputs\[\d\])\.subscribe\(\{/.test(readFileSync(join(operators, f), 'utf8')))
    expect(bypassing).toEqual([])
  })
})
