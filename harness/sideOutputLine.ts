import { errorMessage, type DeadLetter, type Late } from '../dsl/sides.ts'

/**
 * A dead letter or a late event as one NDJSON line (no newline), as the CLI writes them to
 * `--dead-letters` and `--late`: the element as it is (`_tag`, `reason` or `watermark`, `stage`,
 * `pos`, ...). A payload JSON cannot hold (a BigInt, a cycle, nesting too deep for the stack) must
 * not lose the record: the line then leaves the payload out and says why (`inputError` /
 * `valueError`).
 *
 * @example
 * sideOutputLine(deadLetter('parse', 'source', 3, 'not JSON', '{oops'))
 * // '{"_tag":"DeadLetter","reason":"parse","stage":"source","pos":3,"message":"not JSON","input":"{oops"}'
 */
export function sideOutputLine(x: DeadLetter | Late): string {
  try {
    return JSON.stringify(x)
  } catch (e) {
    const why = `cannot be written as JSON: ${errorMessage(e)}`
    if (x._tag === 'DeadLetter') {
      const { input: _input, ...rest } = x
      return JSON.stringify({ ...rest, inputError: why })
    }
    const { value: _value, key, ...rest } = x
    return JSON.stringify({ ...rest, key: typeof key === 'string' || typeof key === 'number' ? key : String(key), valueError: why })
  }
}
