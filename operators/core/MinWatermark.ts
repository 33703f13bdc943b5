/**
 * The watermark of a multi-input operator (a merge, a join): the minimum of its inputs'
 * watermarks, so no input's events can turn out late because another input ran ahead.
 */
export class MinWatermark {
  private readonly marks: number[]
  private current = Number.NEGATIVE_INFINITY

  constructor(inputs: number) {
    this.marks = new Array<number>(inputs).fill(Number.NEGATIVE_INFINITY)
  }

  /** Records input `i`'s watermark `t`; returns the new minimum when that advanced, else undefined. */
  advance(i: number, t: number): number | undefined {
    const marks = this.marks
    if (t <= marks[i]) return undefined
    marks[i] = t
    let min = marks[0]
    for (let j = 1; j < marks.length; j++) if (marks[j] < min) min = marks[j]
    if (min <= this.current) return undefined
    this.current = min
    return min
  }
}
