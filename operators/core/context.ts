import type { SchedulerLike } from 'rxjs'
import { asyncScheduler } from 'rxjs'
import type { DeadLetter, Late } from '../../dsl/sides.ts'
import { Credit } from './credit.ts'
import { isoTime } from '../../dsl/time.ts'

/** Raised into the RxJS error channel when the user asked to fail fast. */
export class FailFastError extends Error {
  constructor(readonly deadLetter: DeadLetter | Late) {
    super(
      deadLetter._tag === 'DeadLetter'
        ? `${deadLetter.stage}: ${deadLetter.reason} at position ${deadLetter.pos}: ${deadLetter.message}`
        : `${deadLetter.stage}: late event at position ${deadLetter.pos} (time ${isoTime(deadLetter.time)} < watermark ${isoTime(deadLetter.watermark)})`,
    )
    this.name = 'FailFastError'
  }
}

/** What every operator gets at compile time: time, side outputs, flow control. */
export interface RunContext {
  readonly scheduler: SchedulerLike
  readonly credit: Credit
  readonly failFast: boolean
  deadLetter(d: DeadLetter): void
  late(l: Late): void
}

export interface ContextOptions {
  readonly scheduler?: SchedulerLike
  readonly highWaterMark?: number
  /** Throw into the error channel on the first dead letter or late event instead of going on. */
  readonly failFast?: boolean
  readonly onDeadLetter?: (d: DeadLetter) => void
  readonly onLate?: (l: Late) => void
}

export const DEFAULT_HIGH_WATER_MARK = 1024

/** What becomes of a dead letter nobody asked for: one line on stderr, never silence. */
export const warnDeadLetter = (d: DeadLetter): void => console.warn(`weir: dead letter (${d.reason}) at ${d.pos}: ${d.message}`)

export function makeContext(o: ContextOptions = {}): RunContext {
  const failFast = o.failFast ?? false
  const onDead = o.onDeadLetter ?? warnDeadLetter
  const onLate = o.onLate ?? ((l: Late) => console.warn(`weir: late event at ${l.pos} (time ${isoTime(l.time)} < watermark ${isoTime(l.watermark)})`))
  return {
    scheduler: o.scheduler ?? asyncScheduler,
    credit: new Credit(o.highWaterMark ?? DEFAULT_HIGH_WATER_MARK),
    failFast,
    deadLetter(d) {
      if (failFast) throw new FailFastError(d)
      onDead(d)
    },
    late(l) {
      if (failFast) throw new FailFastError(l)
      onLate(l)
    },
  }
}
