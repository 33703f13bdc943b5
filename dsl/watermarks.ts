import { toMillis, type Duration } from './time.ts'

/** `W = (max event time seen) - d`. */
export interface BoundedOutOfOrder {
  readonly _tag: 'BoundedOutOfOrder'
  readonly maxDelay: number
}

/** With no event for `p` of processing time, `W` advances to `(clock now) - d`. */
export interface IdleTimeout {
  readonly _tag: 'IdleTimeout'
  readonly idle: number
}

export type WatermarkStrategy = BoundedOutOfOrder | IdleTimeout

/** The strategy a pipeline runs with, after defaults. */
export interface ResolvedWatermarks {
  readonly maxDelay: number
  readonly idle: number | undefined
}

/**
 * Watermarks that trail the largest event time seen by `d`: events up to `d` out of order are on time.
 *
 * @example
 * boundedOutOfOrder('5s') // W = max(t) - 5000
 */
export const boundedOutOfOrder = (d: Duration): BoundedOutOfOrder => ({
  _tag: 'BoundedOutOfOrder',
  maxDelay: toMillis(d, 'boundedOutOfOrder', { allowZero: true }),
})

/**
 * Keeps watermarks moving when input goes quiet: after `p` of processing time (the virtual clock
 * during replay) without an event, `W` advances to `now - d`, so quiet keys still close their windows.
 */
export const idleTimeout = (p: Duration): IdleTimeout => ({ _tag: 'IdleTimeout', idle: toMillis(p, 'idleTimeout') })

export const resolveWatermarks = (
  s: WatermarkStrategy | readonly WatermarkStrategy[] | undefined,
): ResolvedWatermarks => {
  const all = s === undefined ? [] : Array.isArray(s) ? s : [s as WatermarkStrategy]
  let maxDelay = 0
  let idle: number | undefined
  for (const x of all) {
    if (x._tag === 'BoundedOutOfOrder') maxDelay = x.maxDelay
    else idle = x.idle
  }
  return { maxDelay, idle }
}
