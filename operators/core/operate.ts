import { Observable, type OperatorFunction } from 'rxjs'
import type { Data, Element, Watermark } from '../../dsl/element.ts'
import { stageSubscriber } from './subscriber.ts'

/** Where a stateful machine sends its results. */
export interface Emit<O, KO = unknown> {
  (d: Data<O, KO>): void
}

/**
 * The pure-ish core of a single-input stateful operator: it sees data and watermark advances and
 * pushes results to the emitter it was built with. The wrapper forwards each watermark after the
 * machine has handled it, so results always precede the watermark that released them.
 */
export interface Machine<I, K> {
  data(d: Data<I, K>): void
  /**
   * `data` for an element passed in parts (chained links call it when present, to build no record).
   * A function property that does not use `this`: links call it detached.
   */
  push?(value: I, time: number, key: K, pos: number): void
  /** Called only when the watermark advances; `+Infinity` is end of input. */
  watermark(w: number): void
  /** Releases timers or other resources on teardown. */
  dispose?(): void
  /** The machine's whole state as plain JSON-serializable data, for checkpoints. */
  snapshot?(): unknown
  /** Replaces the state with one taken by `snapshot` (of a machine with the same spec). */
  restore?(state: unknown): void
}

/** Anything whose state a checkpoint can take and give back. */
export interface Stateful {
  snapshot?(): unknown
  restore?(state: unknown): void
}

/** The plan node a machine belongs to: a stage of the description (`Node`), or the source's watermark generator (`SOURCE`). */
export type StageRef = object

let registrar: ((m: Stateful, stage: StageRef | undefined) => void) | undefined
/** The stage whose operator is being subscribed (see `withinStage`), for machines that do not name theirs. */
let currentStage: StageRef | undefined

/**
 * Calls `subscribe` and returns, with its result, every stateful machine created while it ran, in
 * creation order, and beside each the plan node it belongs to (`stages[i]` is `machines[i]`'s;
 * undefined for a machine created outside any compiled stage). Subscribing a compiled pipeline
 * creates its machines synchronously and in the same order for the same pipeline, so checkpoints
 * can snapshot and restore them by index, and `stages` says which step of the plan each one is.
 */
export function collectMachines<T>(subscribe: () => T): {
  readonly result: T
  readonly machines: Stateful[]
  readonly stages: (StageRef | undefined)[]
} {
  const machines: Stateful[] = []
  const stages: (StageRef | undefined)[] = []
  const outer = registrar
  registrar = (m, stage) => {
    machines.push(m)
    stages.push(stage)
  }
  try {
    return { result: subscribe(), machines, stages }
  } finally {
    registrar = outer
  }
}

/**
 * Makes a machine known to the enclosing `collectMachines`, if any (operators call this on
 * creation), as part of `stage` when given, else of the stage being subscribed (`withinStage`).
 */
export const registerMachine = (m: Stateful, stage?: StageRef): void => registrar?.(m, stage ?? currentStage)

/**
 * Runs `subscribe` (a stage's operator being subscribed) with `stage` as the stage of every machine
 * it creates without naming one; nested stages (its inputs, subscribed inside) set their own, and
 * the outer one is back once they return.
 */
export function withinStage<T>(stage: StageRef, subscribe: () => T): T {
  const outer = currentStage
  currentStage = stage
  try {
    return subscribe()
  } finally {
    currentStage = outer
  }
}

/**
 * Wraps a machine as an RxJS operator: subscribe, feed, forward, tear down. Shared by every
 * single-input stateful operator so none repeats the subscription plumbing.
 */
export function fromMachine<I, K, O, KO = unknown>(
  make: (emit: Emit<O, KO>, forward: (w: Watermark) => void) => Machine<I, K>,
): OperatorFunction<Element<I, K>, Element<O, KO>> {
  return (source) =>
    new Observable<Element<O, KO>>((subscriber) => {
      // An object field, not a closure variable, so a non-small-integer time is stored in place.
      const seen = { current: Number.NEGATIVE_INFINITY }
      const machine = make(
        (d) => subscriber.next(d),
        (w) => subscriber.next(w),
      )
      registerMachine(machine)
      const sub = source.subscribe(
        stageSubscriber<Element<I, K>>(subscriber, {
          next(e) {
            if (e._tag === 'Data') machine.data(e)
            else if (e.time > seen.current) {
              seen.current = e.time
              machine.watermark(e.time)
              subscriber.next(e)
            }
          },
        }),
      )
      return () => {
        sub.unsubscribe()
        machine.dispose?.()
      }
    })
}
