import { describe, expect, it } from 'vitest'
import { formatDuration, isoTime, toMillis } from './time.ts'
import { tumbling } from './windows.ts'
import { boundedOutOfOrder } from './watermarks.ts'

describe('durations', () => {
  it('parses numbers and unit strings to milliseconds', () => {
    expect([toMillis(250, 'x'), toMillis('250ms', 'x'), toMillis('10s', 'x'), toMillis('5m', 'x'), toMillis('1h', 'x'), toMillis('1d', 'x')]).toEqual([
      250, 250, 10_000, 300_000, 3_600_000, 86_400_000,
    ])
    expect(toMillis('1.5s', 'x')).toBe(1500)
  })

  it('fails at definition time naming the caller and the value', () => {
    expect(() => toMillis('-5m' as never, 'tumbling')).toThrow(/^tumbling: expected a positive whole-millisecond duration .* got "-5m"$/)
    expect(() => toMillis('5 minutes' as never, 'session')).toThrow(/^session: /)
    expect(() => toMillis(0, 'hopping')).toThrow(/hopping: expected a positive/)
    expect(toMillis(0, 'boundedOutOfOrder', { allowZero: true })).toBe(0)
    expect(() => toMillis(0.5, 'x')).toThrow(/whole-millisecond/)
  })

  it('formats milliseconds back in the largest whole unit', () => {
    expect([32_400_000, 90_000, 86_400_000, 1500, 0].map(formatDuration)).toEqual(['9h', '90s', '1d', '1500ms', '0ms'])
  })
})

describe('decimal durations', () => {
  it("are exact: '1.1h', '4.35m', '1.001s' are whole milliseconds, though 1.1 * 3_600_000 is not in floating point", () => {
    expect(toMillis('1.1h', 'x')).toBe(3_960_000)
    expect(toMillis('4.35m', 'x')).toBe(261_000)
    expect(toMillis('1.001s', 'x')).toBe(1001)
    expect(tumbling('2.3h').size).toBe(8_280_000)
    expect(boundedOutOfOrder('2.2h').maxDelay).toBe(7_920_000)
    expect(() => toMillis('1.0005s', 'x')).toThrow(/whole-millisecond/)
  })
})

describe('isoTime', () => {
  it('writes event times and watermarks as ISO 8601 in UTC', () => {
    expect(isoTime(978_307_200_000)).toBe('2001-01-01T00:00:00.000Z')
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z')
  })

  it('leaves the infinite watermarks and times beyond a Date as they are', () => {
    expect(isoTime(Number.NEGATIVE_INFINITY)).toBe('-Infinity')
    expect(isoTime(Number.POSITIVE_INFINITY)).toBe('Infinity')
    expect(isoTime(9e15)).toBe('9000000000000000')
  })
})
