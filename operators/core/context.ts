import type { SchedulerLike } from 'rxjs'
import { asyncScheduler } from 'rxjs'
import type { DeadLetter, Late } from '../../dsl/sides.ts'
import { Credit } from './Credit.ts'
import { isoTime } from '../../dsl/time.ts'
import type { StageRef, Stateful } from './machine.ts'

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

/**
 * The stateful machines of one run, in the order its pipeline made them as it was subscribed, and
 * beside each the plan node it belongs to (`stages[i]` is `machines[i]`'s; undefined for one made
 * outside any compiled stage). Subscribing a compiled pipeline makes its machines synchronously and
 * in the same order every time, so checkpoints snapshot and restore them by index, and inspection
 * says which step of the plan each one is.
 */
export class MachineRegistry {
  readonly machines: Stateful[] = []
  readonly stages: (StageRef | undefined)[] = []

  add(m: Stateful, stage: StageRef | undefined): void {
    this.machines.push(m)
    this.stages.push(stage)
  }
}

/** What every operator gets at compile time: time, side outputs, flow control, its run's machines. */
export interface RunContext {
  readonly scheduler: SchedulerLike
  readonly credit: Credit
  readonly failFast: boolean
  /** Where operators register their stateful machines (see `registerMachine`). */
  readonly machines: MachineRegistry
  /** The plan node whose operator this context was given to (see `stageContext`), for the machines it makes. */
  readonly stage?: StageRef
  deadLetter(d: DeadLetter): void
  late(l: Late): void
}

/**
 * Makes a machine known to its run (operators call this as they are subscribed), as part of `stage`
 * when given, else of the stage the context was given to.
 */
export const registerMachine = (ctx: RunContext, m: Stateful, stage: StageRef | undefined = ctx.stage): void => ctx.machines.add(m, stage)

/** The context of one stage's operator: the run's, with the machines it makes belonging to `stage`. */
export const stageContext = (ctx: RunContext, stage: StageRef): RunContext => ({ ...ctx, stage })

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
    machines: new MachineRegistry(),
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
