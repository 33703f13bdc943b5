import { describe, expect, it } from 'vitest'
import { remove, upsert, type Change } from './change.ts'

describe('Change', () => {
  it('upsert carries after, and before/offset only when given', () => {
    expect(upsert('a', 2)).toEqual({ op: 'upsert', key: 'a', after: 2 })
    expect(upsert('a', 2, 1, 7)).toEqual({ op: 'upsert', key: 'a', after: 2, before: 1, offset: 7 })
    expect('before' in upsert('a', 2)).toBe(false)
  })

  it('remove carries the removed value when given', () => {
    const c: Change<string, number> = remove('a', 1)
    expect(c).toEqual({ op: 'delete', key: 'a', before: 1 })
    expect(remove('a')).toEqual({ op: 'delete', key: 'a' })
  })
})
