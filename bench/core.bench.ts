import { Observable, filter as rxFilter, map as rxMap } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { compile } from '../dsl/compile.ts'
import { pipeline } from '../dsl/pipeline.ts'
import { filter, keyBy, map } from '../dsl/stages.ts'
import type { Stream } from '../dsl/stream.ts'
import { timeBest, type Report } from './util.ts'

interface Ev {
  id: number
  user: number
  amount: number
}

const DISTINCT = 1_000_000
const ROUNDS = 10 // 10M events: the same 1M objects ten times, so the heap holds 1M, not 10M
const events: Ev[] = Array.from({ length: DISTINCT }, (_, i) => ({ id: i, user: (i * 7919) % 1000, amount: (i * 31) % 100 }))

/** Emits the events ROUNDS times, synchronously: the cheapest possible RxJS source. */
const source = new Observable<Ev>((s) => {
  for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < DISTINCT; i++) s.next(events[i])
  s.complete()
})

const chain = pipeline({ name: 'chain' }, (s: Stream<Ev>) =>
  pipe(
    s,
    filter((e) => e.amount > 10),
    map((e) => ({ user: e.user, cents: e.amount * 100 })),
    keyBy((x) => x.user),
    filter((x) => x.cents !== 4200),
  ),
)

/** Chain of map/filter/keyBy: compiled and fused, vs a for-loop and vs the same RxJS pipe. */
export default async function (r: Report): Promise<void> {
  r.section(`fused map/filter/keyBy chain, ${(DISTINCT * ROUNDS) / 1e6}M events`)
  let sink = 0
  // Every variant hands each result to the same consumer, which keeps it: the loop's objects then
  // escape as the pipelines' do, instead of being optimised away.
  let total = 0
  let last: unknown
  const consume = (x: { cents: number }) => {
    total += x.cents
    last = x
  }

  const loop = await timeBest(() => {
    total = 0
    for (let round = 0; round < ROUNDS; round++)
      for (let i = 0; i < DISTINCT; i++) {
        const e = events[i]
        if (!(e.amount > 10)) continue
        const x = { user: e.user, cents: e.amount * 100 }
        const key = x.user
        if (typeof key !== 'number') continue
        if (x.cents === 4200) continue
        consume(x)
      }
    sink += total
  })

  const weir = await timeBest(() => {
    total = 0
    source.pipe(compile(chain)).subscribe(consume)
    sink += total
  })

  const rx = await timeBest(() => {
    total = 0
    source
      .pipe(
        rxFilter((e) => e.amount > 10),
        rxMap((e) => ({ user: e.user, cents: e.amount * 100 })),
        rxMap((x) => ({ key: x.user, value: x })),
        rxFilter((kv) => kv.value.cents !== 4200),
      )
      .subscribe((kv) => consume(kv.value))
    sink += total
  })

  const n = DISTINCT * ROUNDS
  r.figure('for-loop', n / (loop / 1000), 'events/s')
  r.figure('weir compile(pipeline)', n / (weir / 1000), 'events/s')
  r.figure('RxJS pipe(filter, map, map, filter)', n / (rx / 1000), 'events/s')
  r.ratio('weir / for-loop', weir, loop, '<= 1.5')
  r.ratio('RxJS pipe / weir', rx, weir, '>= 2')
  if (sink === 42) console.log(last) // keeps the work observable to the optimizer
}
