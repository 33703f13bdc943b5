import { describe, expect, it } from 'vitest'
import { delay } from 'rxjs'
import { pipe } from 'fp-ts/lib/function.js'
import { remove, upsert, type Change } from '../../dsl/change.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { map } from '../../dsl/stages.ts'
import { table } from '../../dsl/tables.ts'
import { VirtualClock } from '../../harness/VirtualClock.ts'
import { runPipeline } from '../testing/runPipeline.ts'
import { makeContext } from '../core/context.ts'
import type { DeadLetter } from '../../dsl/sides.ts'
import { Aggregate } from './Aggregate.ts'
import { EventLog } from './EventLog.ts'
import { WaitTimeoutError } from './readYourWrites.ts'
import { ReadView } from './ReadView.ts'
import { Table, sameValue } from './Table.ts'
import { tableMachine } from './tableStage.ts'
import type { Logged } from './EventLog.ts'

describe('Table', () => {
  it('keeps the latest value per key and forgets deleted keys (the TSDoc example)', () => {
    const t = Table.from([upsert('a', 1, undefined, 0), upsert('b', 2, undefined, 1), remove('a', undefined, 2)])
    expect(t.get('b')).toBe(2)
    expect(t.has('a')).toBe(false)
    expect(t.offset).toBe(2)
    expect(t.entries()).toEqual([['b', 2]])
  })

  it('publishes its own changelog with before filled in, and nothing for a delete of an absent key', () => {
    const t = new Table<string, number>()
    const seen: Change<string, number>[] = []
    t.changes.subscribe((c) => seen.push(c))
    t.apply(upsert('a', 1))
    t.apply(upsert('a', 2))
    t.apply(remove('b'))
    t.apply(remove('a'))
    expect(seen).toEqual([
      { op: 'upsert', key: 'a', after: 1 },
      { op: 'upsert', key: 'a', before: 1, after: 2 },
      { op: 'delete', key: 'a', before: 2 },
    ])
  })

  it('ignores a redelivered change whose offset is already applied', () => {
    const t = new Table<string, number>()
    expect(t.apply(upsert('a', 1, undefined, 0))).toBeDefined()
    expect(t.apply(upsert('a', 2, undefined, 1))).toBeDefined()
    expect(t.apply(upsert('a', 1, undefined, 0))).toBeUndefined()
    expect(t.get('a')).toBe(2)
    expect(t.offset).toBe(1)
  })

  it('restores from a snapshot that went through JSON', () => {
    const t = Table.from([upsert('a', { n: 1 }, undefined, 3), upsert('b', { n: 2 }, undefined, 4)])
    const u = new Table<string, { n: number }>()
    u.restore(JSON.parse(JSON.stringify(t.snapshot())))
    expect(u.entries()).toEqual(t.entries())
    expect(u.offset).toBe(4)
    expect(u.apply(upsert('a', { n: 9 }, undefined, 4))).toBeUndefined()
  })
})

describe('waitFor (read-your-writes)', () => {
  it('emits at once when the offset is already applied', () => {
    const t = Table.from([upsert('a', 1, undefined, 5)])
    const got: number[] = []
    t.waitFor(3).subscribe((o) => got.push(o))
    expect(got).toEqual([5])
  })

  it('emits exactly when a lagging view applies the offset, in virtual time', () => {
    const clock = new VirtualClock(0)
    const log = new EventLog<{ account: string; amount: number }>()
    const fast = new ReadView<{ account: string; amount: number }, string, number>((e: { account: string; amount: number }, v) => upsert(e.account, (v.get(e.account) ?? 0) + e.amount), { scheduler: clock })
    const slow = new ReadView((e: { account: string; amount: number }) => upsert(e.account, e.amount), { scheduler: clock })
    fast.follow(log.read().pipe(delay(10, clock)))
    slow.follow(log.read().pipe(delay(250, clock)))

    clock.advanceTo(100)
    const at = log.append({ account: 'a', amount: 5 })
    const seen: Array<[string, number, number | undefined]> = []
    fast.waitFor(at).subscribe(() => seen.push(['fast', clock.now(), fast.get('a')]))
    slow.waitFor(at).subscribe(() => seen.push(['slow', clock.now(), slow.get('a')]))

    clock.advanceTo(109)
    expect(seen).toEqual([])
    expect(fast.offset).toBe(-1)
    clock.advanceTo(110)
    expect(seen).toEqual([['fast', 110, 5]])
    clock.advanceTo(349)
    expect(seen).toHaveLength(1)
    clock.advanceTo(350)
    expect(seen).toEqual([
      ['fast', 110, 5],
      ['slow', 350, 5],
    ])
  })

  it('errors with WaitTimeoutError when the view does not catch up in time', () => {
    const clock = new VirtualClock(0)
    const t = new Table<string, number>({ scheduler: clock })
    let error: unknown
    let value: number | undefined
    t.waitFor(7, { timeout: '1s' }).subscribe({ next: (o) => (value = o), error: (e) => (error = e) })
    clock.advanceTo(999)
    expect(error).toBeUndefined()
    clock.advanceTo(1000)
    expect(error).toBeInstanceOf(WaitTimeoutError)
    t.apply(upsert('a', 1, undefined, 7))
    expect(value).toBeUndefined()
  })

  it('a record the projection ignores still advances the view, so its writer is not kept waiting', () => {
    const v = new ReadView((e: { kind: string; id: string }) => (e.kind === 'created' ? upsert(e.id, e.kind) : undefined))
    v.handle({ offset: 0, event: { kind: 'created', id: 'x' } })
    v.handle({ offset: 1, event: { kind: 'noise', id: 'y' } })
    let got = -1
    v.waitFor(1).subscribe((o) => (got = o))
    expect(got).toBe(1)
    expect(v.entries()).toEqual([['x', 'created']])
  })

  it("a projection returning something that is not a change (op 'update') fails, leaving the view as it was, rather than deleting a row", () => {
    const v = new ReadView((e: { id: string; n: number }) =>
      e.n > 0 ? [upsert(e.id, e.n), { op: 'update', key: 'a', after: e.n } as unknown as Change<string, number>] : upsert(e.id, e.n),
    )
    v.handle({ offset: 0, event: { id: 'a', n: 0 } })
    expect(() => v.handle({ offset: 1, event: { id: 'b', n: 2 } })).toThrow(/op must be 'upsert' or 'delete'/)
    expect(v.entries()).toEqual([['a', 0]])
    expect(v.offset).toBe(0)
  })
})

type AccountEvent =
  | { readonly _tag: 'Opened'; readonly id: string }
  | { readonly _tag: 'Deposited'; readonly id: string; readonly amount: number }
  | { readonly _tag: 'Closed'; readonly id: string }

const balances = (e: AccountEvent): Change<string, number> | readonly Change<string, number>[] | undefined =>
  e._tag === 'Opened' ? upsert(e.id, 0) : e._tag === 'Closed' ? remove(e.id) : undefined

describe('event sourcing and CQRS', () => {
  const events: AccountEvent[] = [
    { _tag: 'Opened', id: 'a' },
    { _tag: 'Deposited', id: 'a', amount: 10 },
    { _tag: 'Opened', id: 'b' },
    { _tag: 'Deposited', id: 'b', amount: 3 },
    { _tag: 'Deposited', id: 'a', amount: 5 },
    { _tag: 'Closed', id: 'b' },
  ]
  const total = (s: number, e: AccountEvent) => (e._tag === 'Deposited' ? s + e.amount : s)

  it('folds the log with a typed reducer, and rebuilding by replay gives the same state', () => {
    const log = new EventLog<AccountEvent>()
    const live = new Aggregate(total, 0)
    live.follow(log.read())
    for (const e of events) log.append(e)
    expect(live.state).toBe(18)
    expect(live.offset).toBe(5)
    const rebuilt = Aggregate.rebuild(log, total, 0)
    expect(rebuilt.state).toBe(live.state)
    expect(rebuilt.offset).toBe(live.offset)
  })

  it('a follower whose projection or reducer throws sends that record to dead letters and goes on', () => {
    const log = new EventLog<AccountEvent>()
    const picky = (e: AccountEvent) => {
      if (e._tag === 'Deposited' && e.amount === 3) throw new Error('no threes')
      return e
    }
    const dead: string[] = []
    const onDeadLetter = (d: DeadLetter) => dead.push(`${d.stage}@${d.pos}: ${d.message}`)
    const view = new ReadView<AccountEvent, string, number>((e, v) =>
      picky(e)._tag === 'Deposited' ? upsert(e.id, (v.get(e.id) ?? 0) + (e as { amount: number }).amount) : undefined,
    )
    const sum = new Aggregate((s: number, e: AccountEvent) => total(s, picky(e)), 0)
    view.follow(log.read(), { onDeadLetter })
    sum.follow(log.read(), { onDeadLetter })
    for (const e of events) log.append(e)
    expect(view.entries()).toEqual([['a', 15]])
    expect(sum.state).toBe(15)
    // Both went past the refused record: waiting for the last offset does not hang.
    expect([view.offset, sum.offset]).toEqual([5, 5])
    expect(dead).toEqual(['projection@3: no threes', 'reduce@3: no threes'])
  })

  it('derives independent read views from one log; a late follower catches up from the start', () => {
    const log = new EventLog<AccountEvent>()
    const open = new ReadView(balances)
    const perAccount = new ReadView<AccountEvent, string, number>((e, v) =>
      e._tag === 'Deposited' ? upsert(e.id, (v.get(e.id) ?? 0) + e.amount) : undefined,
    )
    open.follow(log.read())
    for (const e of events.slice(0, 3)) log.append(e)
    perAccount.follow(log.read())
    for (const e of events.slice(3)) log.append(e)
    expect(open.entries()).toEqual([['a', 0]])
    expect(perAccount.entries()).toEqual([
      ['a', 15],
      ['b', 3],
    ])
    expect([open.offset, perAccount.offset]).toEqual([5, 5])
  })

  it('a redelivered suffix of the log leaves aggregate and views as one clean delivery', () => {
    const logged = events.map((event, offset) => ({ offset, event }))
    const redelivered = [...logged.slice(0, 4), ...logged.slice(1)]
    const agg = new Aggregate(total, 0)
    const view = new ReadView(balances)
    for (const r of redelivered) {
      agg.handle(r)
      view.handle(r)
    }
    expect(agg.state).toBe(18)
    expect(view.entries()).toEqual(Table.from([upsert('a', 0)]).entries())
  })

  it('a throwing reducer leaves state and offset unchanged', () => {
    const agg = new Aggregate((s: number, e: number) => {
      if (e < 0) throw new Error('negative')
      return s + e
    }, 0)
    agg.handle({ offset: 0, event: 2 })
    expect(() => agg.handle({ offset: 1, event: -1 })).toThrow('negative')
    expect([agg.state, agg.offset]).toEqual([2, 0])
  })
})

describe('table() stage', () => {
  type Price = { sku: string; amount: number | null; offset: number }
  const toChange = (p: Price): Change<string, number> =>
    p.amount === null ? remove<string, number>(p.sku, undefined, p.offset) : upsert(p.sku, p.amount, undefined, p.offset)

  it('continues as the changelog of its own updates, keyed by the change key, and fills the given table', async () => {
    const into = new Table<string, number>()
    const p = pipeline({ eventTime: (p: Price) => p.offset }, (s) => pipe(s, map(toChange), table({ into })))
    const input: Price[] = [
      { sku: 'x', amount: 1, offset: 0 },
      { sku: 'y', amount: 2, offset: 1 },
      { sku: 'x', amount: 3, offset: 2 },
      { sku: 'x', amount: 1, offset: 0 },
      { sku: 'z', amount: null, offset: 3 },
      { sku: 'y', amount: null, offset: 4 },
    ]
    const r = await runPipeline(p, input)
    expect(r.values).toEqual([
      { op: 'upsert', key: 'x', after: 1, offset: 0 },
      { op: 'upsert', key: 'y', after: 2, offset: 1 },
      { op: 'upsert', key: 'x', before: 1, after: 3, offset: 2 },
      { op: 'delete', key: 'y', before: 2, offset: 4 },
    ])
    expect(r.elements.filter((e) => e._tag === 'Data').map((e) => (e as { key: unknown }).key)).toEqual(['x', 'y', 'x', 'y'])
    expect(into.entries()).toEqual([['x', 3]])
    expect(into.offset).toBe(4)
  })

  it('snapshot mid-stream, restore into a fresh machine and continue: same output as uninterrupted', () => {
    const changes: Change<string, number>[] = [upsert('a', 1, undefined, 0), upsert('b', 2, undefined, 1), remove<string, number>('a', undefined, 2), upsert('b', 3, undefined, 3)]
    const run = (cut: number | undefined) => {
      const out: unknown[] = []
      let m = tableMachine(new Table(), makeContext(), (d) => out.push(d.value))
      changes.forEach((value, pos) => {
        if (pos === cut) {
          const s = JSON.parse(JSON.stringify(m.snapshot!()))
          m = tableMachine(new Table(), makeContext(), (d) => out.push(d.value))
          m.restore!(s)
        }
        m.data({ _tag: 'Data', value, time: pos, key: undefined, pos })
      })
      return out
    }
    expect(run(2)).toEqual(run(undefined))
  })

  it('sends an input that is not a change (an unknown op, null) to dead letters, leaving the row', async () => {
    type P = { sku: string; amount: number; op: string }
    const into = new Table<string, number>()
    const p = pipeline({ eventTime: () => 0 }, (s: import('../../dsl/stream.ts').Stream<P | null>) =>
      pipe(s, map((x: P | null) => (x === null ? null : { op: x.op, key: x.sku, after: x.amount }) as Change<string, number>), table({ into })),
    )
    const r = await runPipeline(p, [{ sku: 'x', amount: 1, op: 'upsert' }, { sku: 'x', amount: 2, op: 'update' }, null])
    expect(into.entries()).toEqual([['x', 1]])
    expect(r.dead.map((d) => [d.stage, d.pos, d.message])).toEqual([
      ['table', 1, "a change's op must be 'upsert' or 'delete', got \"update\""],
      ['table', 2, 'a change must be an object, got null'],
    ])
  })
})

describe('table() stage: bad offsets', () => {
  it('a change whose offset is not a non-negative safe integer is a dead letter, and later changes still apply', async () => {
    const into = new Table<string, number>()
    const p = pipeline({ eventTime: () => 0 }, (s: import('../../dsl/stream.ts').Stream<Change<string, number>>) => pipe(s, table({ into })))
    const bad: unknown[] = [1e308, '7', Number.NaN, Number.POSITIVE_INFINITY, 2.5, -1, 2 ** 53, 10n, null]
    const input = [
      upsert('a', 1, undefined, 0),
      ...bad.map((offset) => ({ op: 'upsert', key: 'b', after: 9, offset }) as unknown as Change<string, number>),
      upsert('a', 2, undefined, 1),
      upsert('c', 3, undefined, 2),
    ]
    const r = await runPipeline(p, input)
    expect(into.entries()).toEqual([
      ['a', 2],
      ['c', 3],
    ])
    expect(into.offset).toBe(2)
    expect(r.dead.map((d) => [d.stage, d.pos, d.message.replace(/^a change's offset must be a non-negative integer \(at most 2\^53 - 1\), got /, '')])).toEqual([
      ['table', 1, '1e+308'],
      ['table', 2, '"7"'],
      ['table', 3, 'NaN'],
      ['table', 4, 'Infinity'],
      ['table', 5, '2.5'],
      ['table', 6, '-1'],
      ['table', 7, '9007199254740992'],
      ['table', 8, '10'],
      ['table', 9, 'null'],
    ])
  })

  it('an op that JSON cannot show (a BigInt) is a dead letter, not a crash', async () => {
    const p = pipeline({ eventTime: () => 0 }, (s: import('../../dsl/stream.ts').Stream<Change<string, number>>) => pipe(s, table()))
    const r = await runPipeline(p, [{ op: 1n, key: 'a' } as unknown as Change<string, number>, upsert('a', 1)])
    expect(r.dead.map((d) => d.message)).toEqual(["a change's op must be 'upsert' or 'delete', got 1"])
    expect(r.values).toEqual([{ op: 'upsert', key: 'a', after: 1 }])
  })
})

describe('waitFor and restore', () => {
  it('a reader waiting for an offset is told once a restore moves the table to or past it', () => {
    const t = new Table<string, number>()
    const seen: number[] = []
    t.waitFor(3).subscribe((o) => seen.push(o))
    t.waitFor(9).subscribe((o) => seen.push(o))
    t.restore({ offset: 5, rows: [['a', 1]] })
    expect(seen).toEqual([5])
  })
})

describe('table() changelog', () => {
  it('emits no entry for an upsert that leaves the row as it was (equal as plain data), but advances the offset', async () => {
    const t = new Table<string, { n: number; tags: string[] }>()
    expect(t.apply(upsert('a', { n: 1, tags: ['x'] }, undefined, 0))).toBeDefined()
    expect(t.apply(upsert('a', { n: 1, tags: ['x'] }, undefined, 1))).toBeUndefined()
    expect(t.offset).toBe(1)
    expect(t.apply(upsert('a', { n: 1, tags: ['y'] }, undefined, 2))).toEqual({ op: 'upsert', key: 'a', before: { n: 1, tags: ['x'] }, after: { n: 1, tags: ['y'] }, offset: 2 })
    const p = pipeline({ eventTime: (c: Change<string, number>) => c.offset ?? 0 }, (s) => pipe(s, table()))
    const r = await runPipeline(p, [upsert('a', 1, undefined, 0), upsert('a', 1, undefined, 1), upsert('a', 2, undefined, 2)])
    expect(r.values).toEqual([
      { op: 'upsert', key: 'a', after: 1, offset: 0 },
      { op: 'upsert', key: 'a', before: 1, after: 2, offset: 2 },
    ])
  })

  it('sameValue compares plain data structurally and anything else by identity', () => {
    expect(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true)
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false)
    expect(sameValue([1, 2], { 0: 1, 1: 2 })).toBe(false)
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true)
    expect(sameValue(new Date(0), new Date(0))).toBe(false)
  })
})

describe('edge cases', () => {
  type Dep = { account: string; amount: number }

  const balances = () =>
    new ReadView<Dep, string, number>((e, v) => upsert(e.account, (v.get(e.account) ?? 0) + e.amount))

  describe('event log and read views', () => {
    it('a view does not lose a record when another view appends re-entrantly while handling it', () => {
      const log = new EventLog<Dep>()
      const a = balances()
      const b = balances()
      a.follow(log.read())
      b.follow(log.read())
      // A process manager on view A: every deposit to 'x' triggers a fee on 'fees'.
      a.changes.subscribe((c) => {
        if (c.key === 'x') log.append({ account: 'fees', amount: 1 })
      })
      log.append({ account: 'x', amount: 10 })
      // Both views follow the same log, so both must hold both records.
      expect(a.entries()).toEqual([
        ['x', 10],
        ['fees', 1],
      ])
      expect(b.get('fees')).toBe(1)
      expect(b.get('x')).toBe(10)
    })

    it('read(from) never delivers a record before `from`, also when `from` is past the current end', () => {
      const log = new EventLog<number>()
      log.append(0)
      const seen: number[] = []
      log.read(3).subscribe((r: Logged<number>) => seen.push(r.offset))
      for (let i = 1; i <= 4; i++) log.append(i)
      expect(seen).toEqual([3, 4])
    })

    it('Aggregate.restore: a reader told the offset is reached sees the restored state, not the old one', () => {
      const agg = new Aggregate((s: number, e: number) => s + e, 0)
      agg.handle({ offset: 0, event: 1 })
      let seen: number | undefined
      agg.waitFor(5).subscribe(() => (seen = agg.state))
      agg.restore({ offset: 5, state: 100 })
      expect(agg.state).toBe(100)
      expect(seen).toBe(100)
    })
  })
})
