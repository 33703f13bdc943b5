import type { Time } from './time.ts'

/** Why an input ended up in dead letters. */
export type DeadLetterReason =
  | 'parse' // not JSON / not a log record
  | 'codec' // failed the source's io-ts codec
  | 'user' // a user function threw
  | 'overflow' // dropped by a full buffer
  | 'lookup' // an external lookup failed
  | 'output' // an output its consumer could not take (not serializable)
  | 'too-long' // a log line longer than the reader's maxLineBytes
  | 'redelivered' // a broker entry delivered more than maxDeliveries times (a poison record)
  | 'topic' // a record with no topic, which a multi-source pipeline cannot route

/** Bad input or failing user code, with the reason and where it came from. The run goes on. */
export interface DeadLetter {
  readonly _tag: 'DeadLetter'
  readonly reason: DeadLetterReason
  readonly message: string
  /** Source position: line number of a log (1-based) or the event's offset. */
  readonly pos: number
  /** The stage that rejected it (`'source'`, `'map'`, `'buffer'`, ...). */
  readonly stage: string
  /** The raw line or the value, when there is one. */
  readonly input?: unknown
}

/** A window the late event would have belonged to. */
export interface WindowBounds {
  readonly start: Time
  readonly end: Time
}

/** An event that arrived after the watermark had passed every window it belongs to. */
export interface Late<A = unknown> {
  readonly _tag: 'Late'
  readonly value: A
  readonly time: Time
  readonly key: unknown
  readonly pos: number
  /** The watermark the event was judged against. */
  readonly watermark: Time
  /** The stage that found it late. */
  readonly stage: string
  /** The windows it missed (window stages), empty for other stages. */
  readonly windows: readonly WindowBounds[]
}

export const deadLetter = (
  reason: DeadLetterReason,
  stage: string,
  pos: number,
  message: string,
  input?: unknown,
): DeadLetter => ({ _tag: 'DeadLetter', reason, stage, pos, message, input })

/** A thrown value's message: an Error's own, anything else as text (see `textOf`). */
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : textOf(e))

/**
 * Any value as text, for a message about it. `String(x)` itself throws for some values (an object
 * without a prototype, a symbol in a template, a throwing `toString`): that must not turn a dead
 * letter into a failed run.
 */
export const textOf = (x: unknown): string => {
  try {
    return typeof x === 'symbol' ? x.toString() : String(x)
  } catch {
    return Object.prototype.toString.call(x)
  }
}
