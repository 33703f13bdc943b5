import fc from 'fast-check'
import type { LogRecord } from '../harness/log.ts'
import { lineModel, lineOf } from './logModel.ts'

/** The event of a generated log: an id (unique per original event), a key and an event time in ms. */
export interface LogEvent {
  readonly id: number
  readonly key: string
  readonly time: number
}

/**
 * A generated recorded log: its lines (what `replay` reads) and what they contain. `E` is the event
 * type: `LogEvent` by default, or the user's own (see `EventShape`).
 */
export interface EventLog<E = LogEvent> {
  /** Every line of the log, malformed ones included, in log order. */
  readonly lines: string[]
  /** The well-formed records in log order (redeliveries included). */
  readonly records: LogRecord<E>[]
  /** Reads an event's event time (for `reorderedWithin`); absent on logs of `LogEvent`, read as `e.time`. */
  readonly timeOf?: (e: E) => number
  /** How many lines are malformed (each becomes a `'parse'` dead letter). */
  readonly malformed: number
  /** How many records are redeliveries of an earlier record (same offset and event). */
  readonly duplicates: number
}

/** Options of `eventLog`. */
export interface EventLogOptions {
  /** The keys events are spread over (default `['a', 'b', 'c']`). */
  readonly keys?: readonly string[]
  /** Number of original events (default 0 to 60; `maxLength` defaults to at least `minLength`). */
  readonly minLength?: number
  readonly maxLength?: number
  /** Arrival of the first record (default 1_700_000_000_000). */
  readonly start?: number
  /** Largest gap between consecutive arrivals, in ms (default 1000; gaps of 0 happen too). */
  readonly maxStep?: number
  /**
   * Bounded disorder: each event's time is up to this many ms before its arrival (default 0:
   * event time = arrival). Then no event is more than `maxDisorder` behind the largest event time
   * seen before it, so a pipeline with `boundedOutOfOrder(maxDisorder)` finds none late, except
   * redeliveries (`duplicates`), which arrive later with their original time.
   */
  readonly maxDisorder?: number
  /** Also produce idle gaps: now and then the arrival jumps by this many ms (default: none). */
  readonly idleGap?: number
  /** Redeliver some earlier records later in the log, as at-least-once sources do (default false). */
  readonly duplicates?: boolean
  /** Insert malformed lines among the records (default false). */
  readonly malformed?: boolean
  /** Topic of every record (default: none written, so `'default'`). */
  readonly topic?: string
}

/**
 * How `eventLog` makes a log of the user's own event type: where events come from, and how to set
 * (and read back) their event time and, optionally, their key.
 *
 * @example
 * const shape: EventShape<Click> = {
 *   events: fc.record({ user: fc.constantFrom('ann', 'bob'), page: fc.webPath() }).map((c) => ({ ...c, ts: 0 })),
 *   timeOf: (c) => c.ts,
 *   withTime: (c, ts) => ({ ...c, ts }),
 * }
 */
export interface EventShape<E> {
  /** The user's events (any fast-check arbitrary); their times and keys are then set by the log. */
  readonly events: fc.Arbitrary<E>
  /** An event's event time, in ms: what the pipeline's `eventTime` reads. */
  readonly timeOf: (e: NoInfer<E>) => number
  /** The event with this event time (the log sets times to make bounded disorder and idle gaps). */
  readonly withTime: (e: NoInfer<E>, time: number) => NoInfer<E>
  /** The event with this key, one of the options' `keys` (without it, events keep their own keys). */
  readonly withKey?: (e: NoInfer<E>, key: string) => NoInfer<E>
}

/**
 * Lines that are not log records: not JSON at all, or JSON of the wrong shape. Never blank (blank
 * lines are skipped, not dead letters).
 *
 * @example
 * fc.sample(malformedLine, 3) // e.g. ['{"arrival":"soon","event":1}', '{x', '[1,2]']
 */
export const malformedLine: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom('garbage', '{', '{"arrival":', '[1,2]', '42', 'null', '"text"', '{"event":1}', '{"arrival":1}'),
    fc.constantFrom('{"arrival":"soon","event":1}', '{"arrival":1,"event":1,"offset":-3}', '{"arrival":1,"event":1,"topic":7}'),
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => `{${s}`),
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  )
  // Malformed by the format's definition (property-tests/logModel.ts), not by the reader under test.
  .filter((line) => lineModel(line, 1).kind === 'malformed')

/** `a` about one time in ten, `undefined` otherwise. */
const sometimes = <A>(a: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: a, weight: 1 })

interface Step {
  readonly key: string
  readonly step: number
  readonly lag: number
  readonly idle: boolean
  readonly redeliver: number | undefined
  readonly junk: string | undefined
  /** The user's event, before its time and key are set (undefined for `LogEvent` logs). */
  readonly event: unknown
}

/**
 * Recorded event logs of the user's own events: the same arrivals, disorder, redeliveries, idle
 * gaps and malformed lines, with each event drawn from `shape.events` and given its event time
 * (and key) by `shape`. Shrinks towards short, in-order logs of shrunk events.
 *
 * @example
 * fc.assert(fc.asyncProperty(eventLog({ ...clickShape, maxDisorder: 500, duplicates: true }), async (log) => {
 *   await everyInputIsAccountedFor(clicksPerMinute, log.lines, { inputsOf: (r) => r.value })
 * }), { seed: 42 })
 */
export function eventLog<E>(opts: EventLogOptions & EventShape<E>): fc.Arbitrary<EventLog<E>>
/**
 * Recorded event logs: keys, event times with bounded disorder, and on request redeliveries, idle
 * gaps and malformed lines. Arrivals never decrease. Shrinks towards short, in-order logs.
 *
 * @example
 * fc.assert(fc.asyncProperty(eventLog({ maxDisorder: 500, malformed: true }), async (log) => {
 *   await everyLineIsAccountedFor(myPipeline, log.lines)
 * }), { seed: 42 })
 */
export function eventLog(opts?: EventLogOptions): fc.Arbitrary<EventLog>
export function eventLog<E>(opts: EventLogOptions & Partial<EventShape<E>> = {}): fc.Arbitrary<EventLog<E | LogEvent>> {
  const keys = opts.keys ?? ['a', 'b', 'c']
  const start = opts.start ?? 1_700_000_000_000
  const maxDisorder = opts.maxDisorder ?? 0
  const step: fc.Arbitrary<Step> = fc.record({
    key: fc.constantFrom(...keys),
    step: fc.nat(opts.maxStep ?? 1000),
    lag: fc.nat(maxDisorder),
    idle: opts.idleGap !== undefined ? sometimes(fc.constant(true)).map((x) => x === true) : fc.constant(false),
    // Which earlier record to redeliver after this one (an index scaled into the records so far).
    redeliver: opts.duplicates ? sometimes(fc.nat(1_000)) : fc.constant(undefined),
    junk: opts.malformed ? sometimes(malformedLine) : fc.constant(undefined),
    event: opts.events ?? fc.constant(undefined),
  })
  const minLength = opts.minLength ?? 0
  return fc.array(step, { minLength, maxLength: opts.maxLength ?? Math.max(60, minLength), size: 'medium' }).map((steps) => {
    const lines: string[] = []
    const records: LogRecord<E | LogEvent>[] = []
    let arrival = start
    let malformed = 0
    let duplicates = 0
    const originals: LogRecord<E | LogEvent>[] = []
    const { withTime, withKey } = opts
    const eventAt = (i: number, s: Step, time: number): E | LogEvent => {
      if (withTime === undefined) return { id: i, key: s.key, time }
      const e = s.event as E
      return withTime(withKey === undefined ? e : withKey(e, s.key), time)
    }
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]
      arrival += s.idle ? opts.idleGap! : s.step
      if (s.junk !== undefined) {
        lines.push(s.junk)
        malformed++
      }
      const r: LogRecord<E | LogEvent> = {
        offset: lines.length + 1,
        arrival,
        topic: opts.topic ?? 'default',
        event: eventAt(i, s, arrival - s.lag),
      }
      originals.push(r)
      records.push(r)
      lines.push(lineOf({ offset: r.offset, arrival, topic: opts.topic, event: r.event }))
      if (s.redeliver !== undefined) {
        const again = originals[s.redeliver % originals.length]
        const dup: LogRecord<E | LogEvent> = { ...again, arrival }
        records.push(dup)
        lines.push(lineOf({ offset: dup.offset, arrival, topic: opts.topic, event: dup.event }))
        duplicates++
      }
    }
    return opts.timeOf === undefined ? { lines, records, malformed, duplicates } : { lines, records, malformed, duplicates, timeOf: opts.timeOf as (e: E | LogEvent) => number }
  })
}

/**
 * The same log delivered in another order: its lines permuted (so arrivals no longer increase), for
 * laws that must hold for any arrival order.
 *
 * @example
 * eventLog().chain(shuffled)
 */
export function shuffled<E>(log: EventLog<E>): fc.Arbitrary<EventLog<E>> {
  const n = log.lines.length
  // Permute indexes, so the records can follow their lines into the new order.
  const idx = [...Array(n).keys()]
  return fc.shuffledSubarray(idx, { minLength: n, maxLength: n }).map((order) => {
    const lines = order.map((i) => log.lines[i])
    const records = lines.flatMap((l, i) => {
      const e = lineModel(l, i + 1)
      return e.kind === 'record' ? [{ offset: e.offset, arrival: e.arrival, topic: e.topic, event: e.event as E } as LogRecord<E>] : []
    })
    return { ...log, lines, records }
  })
}

/**
 * The same log with some records delivered again, as an at-least-once broker does after a crash:
 * a copy (same offset and event) right after a later record, arriving with it. The input of
 * `idempotentUnderRedelivery`. Malformed lines of the original are left out.
 *
 * @example
 * eventLog().chain((log) => fc.tuple(fc.constant(log), redelivered(log)))
 */
export function redelivered<E>(log: EventLog<E>): fc.Arbitrary<EventLog<E>> {
  const n = log.records.length
  return fc.array(fc.option(fc.nat(1_000), { freq: 3 }), { minLength: n, maxLength: n }).map((choices) => {
    const lines: string[] = []
    const records: LogRecord<E>[] = []
    let duplicates = 0
    const write = (r: LogRecord<E>) => {
      records.push(r)
      lines.push(lineOf({ offset: r.offset, arrival: r.arrival, topic: r.topic === 'default' ? undefined : r.topic, event: r.event }))
    }
    log.records.forEach((r, i) => {
      write(r)
      const c = choices[i]
      if (c !== null) {
        write({ ...log.records[c % (i + 1)], arrival: r.arrival })
        duplicates++
      }
    })
    return { lines, records, malformed: 0, duplicates, timeOf: log.timeOf }
  })
}

/**
 * The same events in another arrival order whose disorder stays within `d`: each event arrives at
 * its event time plus a random delay of at most `d`, and the log is ordered by arrival. No event is
 * then more than `d` behind an event delivered before it, so with `boundedOutOfOrder(d)` nothing is
 * late in this order (nor in the original, if its own disorder is within `d`): the input of
 * order-insensitivity laws. Malformed lines and
 * redeliveries of the original log are left out (they have no event time of their own).
 *
 * @example
 * eventLog({ maxDisorder: 100 }).chain((log) => fc.tuple(fc.constant(log), reorderedWithin(log, 100)))
 */
export function reorderedWithin<E>(log: EventLog<E>, d: number): fc.Arbitrary<EventLog<E>> {
  const timeOf = log.timeOf ?? ((e: E) => (e as LogEvent).time)
  const originals = log.records.filter((r, i) => log.records.findIndex((o) => o.offset === r.offset) === i)
  return fc.array(fc.nat(d), { minLength: originals.length, maxLength: originals.length }).map((delays) => {
    const records = originals
      .map((r, i) => ({ ...r, arrival: timeOf(r.event) + delays[i] }))
      .sort((a, b) => a.arrival - b.arrival || a.offset - b.offset)
    const lines = records.map((r) => lineOf({ offset: r.offset, arrival: r.arrival, topic: r.topic === 'default' ? undefined : r.topic, event: r.event }))
    return { lines, records, malformed: 0, duplicates: 0, timeOf: log.timeOf }
  })
}

/**
 * An object with these entries as own properties, `__proto__` included (an assignment would set the
 * prototype); `bare`: without a prototype, as a dictionary made with `Object.create(null)`.
 */
const objectOf = (entries: readonly (readonly [string, unknown])[], bare: boolean): Record<string, unknown> => {
  const o: Record<string, unknown> = bare ? Object.create(null) : {}
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true })
  return o
}

// Not 'constructor': toStrictEqual compares constructors, and an own key of that name stands in for it.
const keys = fc.constantFrom('a', 'b', '$', 'v', '__proto__', 'type', 'data', '')

const stateValues = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.double(), // NaN, ±Infinity and -0 included
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength: 8 }),
    fc.float64Array({ maxLength: 4 }),
  ),
  value: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.tuple(fc.array(fc.tuple(keys, tie('value')), { maxLength: 4 }), fc.boolean()).map(([es, bare]) => objectOf(es, bare)),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((es) => new Map(es)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((xs) => new Set(xs)),
})).value

/**
 * Any value operator state can hold, nested: every kind of number (NaN, ±Infinity, -0), strings,
 * booleans, null, undefined, BigInt, Dates (invalid ones too), Buffers and typed arrays, arrays,
 * plain objects (keys such as `__proto__` and `$` included, some without a prototype), Maps and Sets. A checkpoint must give
 * each back exactly.
 *
 * @example
 * fc.assert(fc.property(stateValue(), (v) => expect(restored(v)).toStrictEqual(v)))
 */
export const stateValue = (): fc.Arbitrary<unknown> => stateValues
