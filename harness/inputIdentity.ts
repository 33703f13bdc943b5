import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { isLogFileSource, isPulledSource, type Source } from '../connectors/sources.ts'

/**
 * Which input a checkpoint was taken from, so that it is not restored over another one (its offset
 * would skip records of the wrong log, its state would hold the other input's windows).
 * - a log file: its path (for messages) and a hash of its first bytes (what identifies it: a log
 *   renamed or copied is the same log, and one that grew since keeps the same first bytes);
 * - a broker source: the `identity` it declares (Redis: topics and group; CDC: slot and publication);
 * - a multi-source run's inputs: each one's that has one, by source name.
 * Arrays, iterables and line iterables have none, and are not checked.
 */
export type InputIdentity =
  | { readonly kind: 'log'; readonly path: string; readonly headBytes: number; readonly headHash: string }
  | { readonly kind: 'broker'; readonly id: string }
  | { readonly kind: 'sources'; readonly of: Readonly<Record<string, InputIdentity>> }

/** Bytes of a log's head that identify it. */
const HEAD = 64 * 1024

/** The hash of a file's first `n` bytes, or undefined when it has fewer (or cannot be read). */
function headHash(path: string, n: number): string | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const buf = Buffer.alloc(n)
    let got = 0
    while (got < n) {
      const k = readSync(fd, buf, got, n - got, got)
      if (k === 0) break
      got += k
    }
    if (got < n) return undefined
    return createHash('sha256').update(buf).digest('hex').slice(0, 32)
  } finally {
    closeSync(fd)
  }
}

/** The identity of a source, or undefined for one that has none (see `InputIdentity`). */
export function inputIdentity(source: Source<unknown>): InputIdentity | undefined {
  if (isLogFileSource(source)) {
    if (typeof source.log !== 'string') return undefined
    const path = resolve(source.log)
    let size: number
    try {
      size = Math.min(statSync(path).size, HEAD)
    } catch {
      // A log that cannot be read fails the run where it is read, with the reader's error.
      return undefined
    }
    return { kind: 'log', path, headBytes: size, headHash: headHash(path, size) ?? '' }
  }
  if (isPulledSource(source) && source.identity !== undefined) return { kind: 'broker', id: source.identity }
  return undefined
}

/** The identity of a multi-source run's inputs (see `InputIdentity`), or undefined when none has one. */
export function inputsIdentity(inputs: Readonly<Record<string, Source<unknown>>>): InputIdentity | undefined {
  const of: Record<string, InputIdentity> = {}
  for (const [name, source] of Object.entries(inputs)) {
    const id = inputIdentity(source)
    if (id !== undefined) of[name] = id
  }
  return Object.keys(of).length === 0 ? undefined : { kind: 'sources', of }
}

const describe = (i: InputIdentity): string =>
  i.kind === 'log' ? `log ${i.path}` : i.kind === 'broker' ? i.id : Object.entries(i.of).map(([name, x]) => `${name}: ${describe(x)}`).join('; ')

/**
 * Why a checkpoint taken from `saved` does not belong to the input `now` (the run's, from
 * `inputIdentity`), in words, or undefined when it does (or when either side has no identity to
 * compare). A multi-source run's inputs are compared source by source.
 *
 * @example
 * inputChange(cp.input, inputIdentity(fromLog('b.ndjson'))) // 'checkpoint belongs to log /data/a.ndjson, not log /data/b.ndjson'
 */
export function inputChange(saved: InputIdentity | undefined, now: InputIdentity | undefined): string | undefined {
  if (saved === undefined || now === undefined) return undefined
  if (saved.kind === 'sources' && now.kind === 'sources') {
    for (const name of Object.keys(saved.of)) {
      const why = inputChange(saved.of[name], now.of[name])
      if (why !== undefined) return `source ${name}: ${why}`
    }
    return undefined
  }
  if (saved.kind === 'log' && now.kind === 'log') {
    if (headHash(now.path, saved.headBytes) === saved.headHash) return undefined
    return saved.path === now.path
      ? `checkpoint belongs to log ${saved.path} as it was: its first ${saved.headBytes} bytes have changed since`
      : `checkpoint belongs to log ${saved.path}, not log ${now.path}`
  }
  if (saved.kind === 'broker' && now.kind === 'broker' && saved.id === now.id) return undefined
  return `checkpoint belongs to ${describe(saved)}, not ${describe(now)}`
}
