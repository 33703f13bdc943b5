import { Observable } from 'rxjs'
import { compileElements, makeContext, type Batch, type Pipeline } from 'weirjs'
import { NexmarkGenerator } from '../examples/nexmark/generator.ts'
import type { Auction, NexmarkEvent, Person } from '../examples/nexmark/model.ts'
import { queries } from '../examples/nexmark/queries.ts'
import { best, pairedRatios, timeInProcesses, type Report } from './util.ts'

/** Events per run: Beam's default rate (10,000 events/s of event time), so 100 s, ten 10 s windows. */
const N = 1_000_000
const ROUNDS = 3

/**
 * The first `n` generated events in batches of 1,024, as `run` hands arrays over, made on the fly as
 * a Nexmark source makes them (Beam's and Flink's generate inside the job too), the same for every
 * contender: the heap holds the queries' state, not the input. Generation is part of every figure;
 * the `generate` contender measures it alone.
 */
const batches = (n: number) =>
  new Observable<Batch>((s) => {
    const g = new NexmarkGenerator()
    for (let i = 0; i < n; i += 1024) {
      const values: NexmarkEvent[] = []
      for (let j = i, end = Math.min(n, i + 1024); j < end; j++) values.push(g.eventAt(j))
      s.next({ _tag: 'Batch', values, time: Number.NaN, pos: i })
    }
    s.complete()
  })

/** Generating the events alone, no pipeline: the part of every contender's time they all share. */
const generateOnly = (n: number): number => {
  let events = 0
  batches(n).subscribe((b) => (events += b.values.length))
  return events
}

/** Runs one query over `n` generated events, synchronously; returns its number of results. */
const runQuery = (q: () => Pipeline<NexmarkEvent, unknown, unknown>, n: number): number => {
  let results = 0
  batches(n)
    .pipe(compileElements(q(), makeContext(), { watermarks: false }))
    .subscribe(() => results++)
  return results
}

/** Feeds the first `n` events, 1,024 at a time as the pipelines get them, to a hand loop's `step`. */
const loop = (n: number, step: (e: NexmarkEvent) => void): void => {
  batches(n).subscribe((b) => {
    const values = b.values as NexmarkEvent[]
    for (let i = 0; i < values.length; i++) step(values[i])
  })
}

const SIZE = 10_000
const PERIOD = 5_000
const Q3_STATES = new Set(['OR', 'ID', 'CA'])

/**
 * Hand-written loops computing the same results as the stateful queries, for in-order input only
 * (no watermarks, lateness, dead letters or state inspection): what the queries cost beside the
 * least a program must do. Each returns its number of results, printed beside the query's.
 */
const handLoops = {
  q3: (n: number): number => {
    let results = 0
    const sellers = new Map<number, Person>()
    const waiting = new Map<number, Auction[]>()
    loop(n, (e) => {
      if (e.kind === 'person' && Q3_STATES.has(e.state)) {
        sellers.set(e.id, e)
        const ws = waiting.get(e.id)
        if (ws !== undefined) {
          results += ws.length
          waiting.delete(e.id)
        }
      } else if (e.kind === 'auction' && e.category === 10) {
        if (sellers.has(e.seller)) results++
        else {
          const ws = waiting.get(e.seller)
          if (ws === undefined) waiting.set(e.seller, [e])
          else ws.push(e)
        }
      }
    })
    return results
  },
  q5: (n: number): number => {
    let results = 0
    const open = new Map<number, Map<number, number>>()
    const fire = (start: number) => {
      let top = 0
      let tied = 0
      for (const c of open.get(start)!.values())
        if (c > top) (top = c), (tied = 1)
        else if (c === top) tied++
      results += tied
      open.delete(start)
    }
    loop(n, (e) => {
      if (e.kind !== 'bid') return
      for (const start of open.keys()) if (start + SIZE <= e.dateTime) fire(start)
      for (let start = Math.floor(e.dateTime / PERIOD) * PERIOD; start > e.dateTime - SIZE; start -= PERIOD) {
        let counts = open.get(start)
        if (counts === undefined) open.set(start, (counts = new Map()))
        counts.set(e.auction, (counts.get(e.auction) ?? 0) + 1)
      }
    })
    for (const start of [...open.keys()]) fire(start)
    return results
  },
  q7: (n: number): number => {
    let results = 0
    let window = Number.NaN
    let top = -1
    let tied = 0
    loop(n, (e) => {
      if (e.kind !== 'bid') return
      const w = Math.floor(e.dateTime / SIZE)
      if (w !== window) {
        results += tied
        window = w
        top = -1
      }
      if (e.price > top) (top = e.price), (tied = 1)
      else if (e.price === top) tied++
    })
    return results + tied
  },
  q8: (n: number): number => {
    let results = 0
    let window = Number.NaN
    const persons = new Set<number>()
    const auctions = new Map<number, number>()
    loop(n, (e) => {
      if (e.kind === 'bid') return
      const w = Math.floor(e.dateTime / SIZE)
      if (w !== window) {
        window = w
        persons.clear()
        auctions.clear()
      }
      if (e.kind === 'person') {
        persons.add(e.id)
        results += auctions.get(e.id) ?? 0
      } else {
        auctions.set(e.seller, (auctions.get(e.seller) ?? 0) + 1)
        if (persons.has(e.seller)) results++
      }
    })
    return results
  },
  q11: (n: number): number => {
    let results = 0
    const last = new Map<number, number>()
    loop(n, (e) => {
      if (e.kind !== 'bid') return
      const t = last.get(e.bidder)
      if (t !== undefined && e.dateTime - t >= SIZE) results++
      last.set(e.bidder, e.dateTime)
    })
    return results + last.size
  },
}
type Looped = keyof typeof handLoops
const looped = Object.keys(handLoops) as Looped[]

type Name = keyof typeof queries
const names = Object.keys(queries) as Name[]

/** What `timeInProcesses` runs, each in a process of its own, on `n` events. */
export const contenders: Record<string, (n: number) => unknown> = {
  generate: generateOnly,
  ...Object.fromEntries(names.map((k) => [k, (n: number) => runQuery(queries[k] as () => Pipeline<NexmarkEvent, unknown, unknown>, n)])),
  ...Object.fromEntries(looped.map((k) => [`${k}Loop`, handLoops[k]])),
}

export default async function (r: Report): Promise<void> {
  r.section(`nexmark: ${N.toLocaleString('en-US')} generated events per query (examples/nexmark), CPU time, one core`)
  // CPU time in fresh processes, in turns: a shared machine stretches wall times.
  const t = timeInProcesses('nexmark.bench.ts', ['generate', ...names] as const, N, ROUNDS, 'cpu')
  r.figure('generator alone: events per CPU second', N / (best(t.generate) / 1000), 'events/s')
  for (const k of names) {
    r.figure(`${k}: results`, runQuery(queries[k] as () => Pipeline<NexmarkEvent, unknown, unknown>, N), 'results')
    r.figure(`${k}: events per CPU second (generation included)`, N / (best(t[k]) / 1000), 'events/s')
  }
  for (const k of names) if (k !== 'q0') r.ratios(`${k} time / q0 (pass-through) time`, pairedRatios(t[k], t.q0))

  r.section(`nexmark: the stateful queries beside hand-written loops over the same ${N.toLocaleString('en-US')} events`)
  const h = timeInProcesses('nexmark.bench.ts', looped.flatMap((k) => [k, `${k}Loop`] as const), N, ROUNDS, 'cpu')
  for (const k of looped) {
    r.figure(`${k} hand loop: results (the query's: ${runQuery(queries[k] as () => Pipeline<NexmarkEvent, unknown, unknown>, N)})`, handLoops[k](N), 'results')
    r.figure(`${k} hand loop: events per CPU second (generation included)`, N / (best(h[`${k}Loop`]) / 1000), 'events/s')
    // Generation is most of a loop's time, so this ratio understates the query's own overhead.
    r.ratios(`${k} time / hand loop time (generation included in both)`, pairedRatios(h[k], h[`${k}Loop`]))
  }
}
