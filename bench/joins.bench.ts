import { Observable } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import type { Data } from '../dsl/element.ts'
import type { Change } from '../dsl/change.ts'
import { compileElements } from '../dsl/compile.ts'
import { tableTableJoin, windowJoin } from '../dsl/joins.ts'
import { pipeline, type Pipeline } from '../dsl/pipeline.ts'
import type { Stream } from '../dsl/stream.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import { boundedOutOfOrder } from '../dsl/watermarks.ts'
import { makeContext } from '../operators/core/context.ts'
import { best, gc, pairedRatios, timeInProcesses, type Report } from './util.ts'

const PER_SIDE = 1_000_000
const KEYS = 10_000
const WITHIN = 5_000
const JITTER = 100

type Ev = { side: 0 | 1; key: number; t: number }

/** The i-th event of the two interleaved streams: 1 ms apart, each key every 10 s per side, a little disorder. */
const eventAt = (i: number): Ev => ({ side: (i & 1) as 0 | 1, key: ((i >> 1) * 7919) % KEYS, t: (i >> 1) + ((i * 31) % JITTER) })

let heapPeak = 0
const sampleHeap = () => {
  const h = process.memoryUsage().heapUsed
  if (h > heapPeak) heapPeak = h
}

/** Generates records lazily, so the input itself takes no memory; samples the heap as it goes. */
const generated = <A>(n: number, at: (i: number) => A) =>
  new Observable<Data<unknown>>((sub) => {
    for (let i = 0; i < n && !sub.closed; i++) {
      sub.next({ _tag: 'Data', value: at(i), time: Number.NaN, key: undefined, pos: i })
      if ((i & 0xffff) === 0) sampleHeap()
      if (i === n >> 1) probe?.(bufferedByJoin(i))
    }
    sub.complete()
  })

function runCounting<I, O, K>(p: Pipeline<I, O, K>, n: number, at: (i: number) => unknown): number {
  let out = 0
  generated(n, at)
    .pipe(compileElements(p, makeContext(), { watermarks: false }))
    .subscribe((e) => {
      if (e._tag === 'Data') out++
    })
  return out
}

/** Called once, halfway through a run that measures its retained heap (see `retainedPerEvent`). */
let probe: ((buffered: number) => void) | undefined

/** The baseline: the same interval join as a hand-written loop over Maps, no RxJS, no watermarks. */
function handJoin(n: number): number {
  const buckets = [new Map<number, Ev[]>(), new Map<number, Ev[]>()]
  const fifo: Ev[] = []
  let head = 0
  let out = 0
  let maxT = 0
  for (let i = 0; i < n; i++) {
    const e = eventAt(i)
    const others = buckets[1 - e.side].get(e.key)
    if (others) for (const o of others) if (Math.abs(o.t - e.t) <= WITHIN) out++
    const own = buckets[e.side].get(e.key)
    if (own) own.push(e)
    else buckets[e.side].set(e.key, [e])
    fifo.push(e)
    if (e.t > maxT) maxT = e.t
    const horizon = maxT - JITTER - WITHIN
    while (head < fifo.length && fifo[head].t < horizon - JITTER) {
      const old = fifo[head++]
      const b = buckets[old.side].get(old.key)!
      if (b.length === 1) buckets[old.side].delete(old.key)
      else b.splice(b.indexOf(old), 1)
    }
    if (head > 65536) {
      fifo.splice(0, head)
      head = 0
    }
    if ((i & 0xffff) === 0) sampleHeap()
    if (i === n >> 1) probe?.(fifo.length - head)
  }
  return out
}

/**
 * How many events the window join holds after event `i`: those not yet evicted, i.e. with
 * `time >= W - within` where `W` is the watermark (`boundedOutOfOrder(JITTER)`) after event `i`.
 */
const bufferedByJoin = (i: number): number => {
  let max = Number.NEGATIVE_INFINITY
  for (let j = 0; j <= i; j++) max = Math.max(max, eventAt(j).t)
  const horizon = max - JITTER - WITHIN
  let held = 0
  for (let j = 0; j <= i; j++) if (eventAt(j).t >= horizon) held++
  return held
}

/**
 * Heap retained per buffered event halfway through `run`: a full collection there, heap used minus
 * heap used before the run, over the events the join holds at that moment. Peak heap (sampled)
 * measures garbage not yet collected; this measures the join's state.
 */
function retainedPerEvent(run: () => unknown): { bytes: number; buffered: number } {
  gc()
  const before = process.memoryUsage().heapUsed
  let bytes = 0
  let buffered = 0
  probe = (held) => {
    gc()
    bytes = process.memoryUsage().heapUsed - before
    buffered = held
  }
  try {
    run()
  } finally {
    probe = undefined
  }
  return { bytes: bytes / buffered, buffered }
}

const join = pipeline({ eventTime: (e: Ev) => e.t, watermark: boundedOutOfOrder(JITTER) }, (s) => {
  const l = pipe(s, filter((e) => e.side === 0), keyBy((e) => e.key))
  const rr = pipe(s, filter((e) => e.side === 1), keyBy((e) => e.key))
  return pipe(l, windowJoin(rr, { within: WITHIN, type: 'outer' }))
})

const CHANGES = 1_000_000
const TKEYS = 100_000
type In = { side: 0 | 1; c: Change<number, number> }
const changeAt = (i: number): In => {
  const key = (i * 7919) % TKEYS
  const c: Change<number, number> = i % 10 === 9 ? { op: 'delete', key } : { op: 'upsert', key, after: i }
  return { side: (i & 1) as 0 | 1, c }
}
const ttj = pipeline({ eventTime: () => 0 }, (s: Stream<In>) => {
  const l = pipe(s, filter((x) => x.side === 0), map((x) => x.c))
  const rr = pipe(s, filter((x) => x.side === 1), map((x) => x.c))
  return pipe(l, tableTableJoin(rr, { type: 'outer' }))
})

/** The table-table join's baseline: two Maps and a joined row per change. */
const handTables = (m: number): number => {
  const L = new Map<number, number>()
  const R = new Map<number, number>()
  let out = 0
  for (let i = 0; i < m; i++) {
    const { side, c } = changeAt(i)
    const own = side === 0 ? L : R
    const other = side === 0 ? R : L
    const had = own.has(c.key)
    if (c.op === 'upsert') own.set(c.key, c.after!)
    else if (had) own.delete(c.key)
    else continue
    const row = { left: L.get(c.key), right: R.get(c.key), other: other.get(c.key) }
    if (row.left !== undefined || row.right !== undefined || had) out++
  }
  return out
}

/** What `timeInProcesses` runs, each in a process of its own, on `n` events. */
export const contenders: Record<string, (n: number) => unknown> = {
  windowJoin: (n) => runCounting(join, n, eventAt),
  handJoin,
  tableTableJoin: (n) => runCounting(ttj, n, changeAt),
  handTables,
}

export default async function (r: Report): Promise<void> {
  const n = 2 * PER_SIDE
  r.section(`joins: window join, 2 x ${PER_SIDE.toLocaleString('en-US')} events, ${KEYS.toLocaleString('en-US')} keys, within ${WITHIN} ms`)
  // Each contender in a fresh process, in turns, so neither runs on the other's garbage or JIT
  // feedback; CPU time, as other work on a shared machine stretches wall times by up to 4x.
  const t = timeInProcesses('joins.bench.ts', ['windowJoin', 'handJoin'] as const, n, 7, 'cpu')
  const results = runCounting(join, n, eventAt)
  const pairs = handJoin(n)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  heapPeak = heapBefore
  runCounting(join, n, eventAt)
  const peak = heapPeak
  // The same join over a quarter of the input: a peak that does not grow with the input is state
  // bounded by the join interval, not by the number of events.
  gc()
  const quarterBefore = process.memoryUsage().heapUsed
  heapPeak = quarterBefore
  runCounting(join, n / 4, eventAt)
  const quarterPeak = heapPeak - quarterBefore
  gc()
  const handBefore = process.memoryUsage().heapUsed
  heapPeak = handBefore
  handJoin(n)
  const handPeak = heapPeak - handBefore
  const weirHeld = retainedPerEvent(() => runCounting(join, n, eventAt))
  const handHeld = retainedPerEvent(() => handJoin(n))
  r.figure('weir windowJoin (outer): events per CPU second', n / (best(t.windowJoin) / 1000), 'events/s')
  r.figure('weir windowJoin: results (pairs + unmatched)', results, 'results')
  r.figure('weir windowJoin: peak heap above start (garbage included)', (peak - heapBefore) / 2 ** 20, 'MiB')
  r.figure('same join over 1/4 of the input: peak heap above start', quarterPeak / 2 ** 20, 'MiB')
  r.figure(`weir windowJoin: peak heap per buffered event (${weirHeld.buffered} held)`, (peak - heapBefore) / weirHeld.buffered, 'bytes')
  r.figure(`weir windowJoin: heap held per buffered event (after a collection)`, weirHeld.bytes, 'bytes')
  r.figure('baseline: hand-written Map hash join loop: events per CPU second', n / (best(t.handJoin) / 1000), 'events/s')
  r.figure('baseline: pairs', pairs, 'pairs')
  r.figure('baseline: peak heap above start (garbage included)', handPeak / 2 ** 20, 'MiB')
  r.figure(`baseline: peak heap per buffered event (${handHeld.buffered} held)`, handPeak / handHeld.buffered, 'bytes')
  r.figure(`baseline: heap held per buffered event (after a collection)`, handHeld.bytes, 'bytes')
  r.ratios('windowJoin time / hand loop time', pairedRatios(t.windowJoin, t.handJoin), 'at most 2x, stretch 1.5x')

  r.section(`joins: table-table join, ${CHANGES.toLocaleString('en-US')} changes, ${TKEYS.toLocaleString('en-US')} keys`)
  const tt = timeInProcesses('joins.bench.ts', ['tableTableJoin', 'handTables'] as const, CHANGES, 7, 'cpu')
  r.figure('weir tableTableJoin (outer): changes per CPU second', CHANGES / (best(tt.tableTableJoin) / 1000), 'changes/s')
  r.figure('weir tableTableJoin: output changes', runCounting(ttj, CHANGES, changeAt), 'changes')
  r.figure('baseline: two Maps + joined row per change: changes per CPU s', CHANGES / (best(tt.handTables) / 1000), 'changes/s')
  r.ratios('tableTableJoin time / hand loop time', pairedRatios(tt.tableTableJoin, tt.handTables), 'at most 2x')
}
