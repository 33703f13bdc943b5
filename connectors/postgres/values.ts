/**
 * JSON text as a value, exactly: an integer literal JS cannot hold exactly (beyond 2^53) becomes
 * its decimal string instead of a rounded number. Other numbers are doubles, as `JSON.parse` gives.
 * (Node 20's `JSON.parse` has no access to a literal's source text, so big literals are quoted
 * before parsing; text without a run of 16 digits, nearly all of it, goes straight to `JSON.parse`.)
 *
 * @example
 * exactJson('{"id": 12345678901234567890, "n": 1}') // { id: '12345678901234567890', n: 1 }
 */
export function exactJson(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text)
  return JSON.parse(quoteBigIntegers(text))
}

/** `text` with every integer literal outside strings that is not a safe integer put in quotes. */
function quoteBigIntegers(text: string): string {
  let out = ''
  let from = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // Skip the string, escapes included.
      i++
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 /* \ */ ? 2 : 1
      i++
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i
      i++
      while (i < n && isNumberChar(text.charCodeAt(i))) i++
      const literal = text.slice(start, i)
      if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += `${text.slice(from, start)}"${literal}"`
        from = i
      }
    } else i++
  }
  return out + text.slice(from)
}

const isNumberChar = (c: number) => (c >= 48 && c <= 57) || c === 46 /* . */ || c === 101 || c === 69 /* e E */ || c === 43 || c === 45 /* + - */
