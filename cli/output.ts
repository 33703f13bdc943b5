import { closeSync, openSync, writeSync } from 'node:fs'

/** Writes NDJSON lines in blocks. */
export interface LineWriter {
  line(s: string): void
  /** Writes what is buffered and releases the file. */
  close(): void
}

const BLOCK = 64 * 1024

/**
 * A line writer over a synchronous `write`: lines are gathered into ~64 KiB blocks. Writing
 * synchronously keeps memory flat without coordinating with the replay (stdout is synchronous on
 * Linux for files and pipes, and `--out` files are written with `writeSync`).
 */
export function blockWriter(write: (s: string) => void, onClose: () => void = () => undefined, block = BLOCK): LineWriter {
  let buf = ''
  let closed = false
  return {
    line(s) {
      buf += s + '\n'
      if (buf.length >= block) {
        write(buf)
        buf = ''
      }
    },
    close() {
      if (closed) return
      closed = true
      try {
        if (buf.length > 0) write(buf)
      } finally {
        buf = ''
        onClose()
      }
    },
  }
}

/**
 * A line writer to a file (created or truncated). Throws the file system error if it cannot be
 * opened; a write that fails (a full disk) throws an error naming the file as `name`.
 */
export function fileWriter(path: string, name = path, block = BLOCK): LineWriter {
  const fd = openSync(path, 'w')
  return blockWriter(
    (s) => {
      try {
        writeSync(fd, s)
      } catch (e) {
        throw new Error(`cannot write ${name}: ${e instanceof Error ? e.message : String(e)}`)
      }
    },
    () => closeSync(fd),
    block,
  )
}

/** Control characters (C0, DEL, C1) and Unicode's line/paragraph separators and bidirectional overrides. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * Text from the input (a dead letter's message quotes the bad line) made safe for a terminal: every
 * control character is shown as an escape (`\x1b`, `\u202e`), so an ESC sequence in a log cannot
 * clear the screen or rewrite what the user sees, and a message stays on one line.
 *
 * @example
 * printable('bad \x1b[2J line') // 'bad \\x1b[2J line'
 */
export const printable = (s: string): string =>
  s.replace(UNPRINTABLE, (c) => {
    const n = c.charCodeAt(0)
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
  })
