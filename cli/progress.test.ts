import { describe, expect, it } from 'vitest'
import { ProgressBar, renderProgress } from './progress.ts'

describe('progress bar', () => {
  it('renders a frame (the docs example)', () => {
    expect(renderProgress(0.5, 1000, 2000, 80)).toBe('[###############...............]   50%  1,000 events  2,000 events/s')
  })

  it('clamps the fraction and narrows the bar on a narrow terminal', () => {
    expect(renderProgress(1.7, 5, 5, 80)).toMatch(/^\[#{30}\]  100%/)
    expect(renderProgress(-1, 5, 5, 40)).toMatch(/^\[\.{10}\]    0%/)
  })

  it('redraws in place at most once per interval and erases itself', () => {
    const frames: string[] = []
    const bar = new ProgressBar({ write: (s) => frames.push(s), columns: 80 }, 100, 60_000)
    bar.update(10, 1)
    bar.update(50, 5)
    expect(frames).toHaveLength(1)
    expect(frames[0]).toMatch(/^\r\[###\.+\]   10%  1 events .*\x1b\[K$/)
    bar.clear()
    bar.clear()
    expect(frames).toEqual([frames[0], '\r\x1b[K'])
  })
})
