/**
 * The candidate closest to a mistyped word, for "did you mean" hints: the one within an edit
 * distance of 2 (1 for words of up to 3 letters), or that the word is a prefix of; undefined when
 * none is close enough to be a useful guess.
 *
 * @example
 * didYouMean('lgo', ['log', 'out', 'topic']) // 'log'
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = word.length <= 3 ? 1 : 2
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0 : distance(word, c)
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = c
      bestDistance = d
    }
  }
  return best
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function distance(a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    rows.push([i])
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i].push(j)
        continue
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1)
      rows[i].push(d)
    }
  }
  return rows[a.length][b.length]
}
