import type { Observable } from 'rxjs'
import { notAChange, type Change } from '../../dsl/change.ts'
import type { Data, Element } from '../../dsl/element.ts'
import type { TableTableJoinSpec } from '../../dsl/joins.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import { fromMachine2, type Machine2 } from './twoInputs.ts'

interface TableTableJoinState {
  readonly left: Array<[Key, unknown]>
  readonly right: Array<[Key, unknown]>
  readonly leftOffset: number
  readonly rightOffset: number
  /** Foreign-key joins: each right key's left keys, in the order a right change updates them. */
  readonly refs?: Array<[Key, Key[]]>
}

/** What `fkOf` gives for a left row whose foreign key was refused (it went to dead letters). */
const FAILED: unique symbol = Symbol('failed')

type C = Change<Key, unknown>

/**
 * The table-table join's state machine (see `tableTableJoin` in dsl/joins.ts). It keeps both input
 * tables and, for a foreign-key join, an index from each right key to the left keys pointing at it.
 * A change is turned into the difference between the joined row(s) it touches before and after.
 */
export function tableTableJoinMachine(
  spec: TableTableJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<C, C> {
  const { type, foreignKey } = spec
  const L = new Map<Key, unknown>()
  const R = new Map<Key, unknown>()
  /** Foreign-key joins only: right key -> the left keys whose value points at it, and back. */
  const refs = new Map<Key, Set<Key>>()
  const fks = new Map<Key, Key>()
  let leftOffset = -1
  let rightOffset = -1
  let time = 0
  let pos = 0

  const exists = (hasL: boolean, hasR: boolean): boolean =>
    type === 'inner' ? hasL && hasR : type === 'left' ? hasL : hasL || hasR

  /** Emits how the joined row for `key` went from (l0, r0) to (l1, r1); nothing if it is absent in both. */
  const diff = (key: Key, hasL0: boolean, l0: unknown, hasR0: boolean, r0: unknown, hasL1: boolean, l1: unknown, hasR1: boolean, r1: unknown) => {
    const was = exists(hasL0, hasR0)
    const is = exists(hasL1, hasR1)
    let c: C
    if (is) {
      const after = { left: hasL1 ? l1 : undefined, right: hasR1 ? r1 : undefined }
      c = was ? { op: 'upsert', key, before: { left: hasL0 ? l0 : undefined, right: hasR0 ? r0 : undefined }, after } : { op: 'upsert', key, after }
    } else if (was) c = { op: 'delete', key, before: { left: hasL0 ? l0 : undefined, right: hasR0 ? r0 : undefined } }
    else return
    emit({ _tag: 'Data', value: c, time, key, pos })
  }

  /**
   * A left row's foreign key: `null` when it has none (`undefined` or `null`: a left row with no
   * right row, as a nullable column), FAILED when the function throws or gives something that is not
   * a key (the change goes to dead letters).
   */
  const fkOf = (v: unknown, d: Data<C, unknown>): Key | null | typeof FAILED => {
    const refuse = (message: string): typeof FAILED => {
      ctx.deadLetter(deadLetter('user', 'tableTableJoin.foreignKey', d.pos, message, d.value))
      return FAILED
    }
    let fk: unknown
    try {
      fk = foreignKey!(v)
    } catch (e) {
      return refuse(errorMessage(e))
    }
    if (fk === undefined || fk === null) return null
    if (typeof fk !== 'string' && typeof fk !== 'number') return refuse(`foreign key must be a string or a number (or null), got ${typeof fk}`)
    return fk
  }

  const unlink = (k: Key) => {
    const fk = fks.get(k)
    if (fk === undefined) return
    fks.delete(k)
    const s = refs.get(fk)!
    s.delete(k)
    if (s.size === 0) refs.delete(fk)
  }

  const link = (fk: Key, k: Key) => {
    fks.set(k, fk)
    const s = refs.get(fk)
    if (s === undefined) refs.set(fk, new Set([k]))
    else s.add(k)
  }

  const onLeft = (d: Data<C, unknown>) => {
    const c = d.value
    const bad = notAChange(c)
    if (bad !== undefined) return ctx.deadLetter(deadLetter('user', 'tableTableJoin', d.pos, bad, c))
    if (c.offset !== undefined) {
      if (c.offset <= leftOffset) return
      leftOffset = c.offset
    }
    const k = c.key
    const hadL = L.has(k)
    if (c.op === 'delete' && !hadL) return
    const l0 = L.get(k)
    time = d.time
    pos = d.pos
    if (foreignKey === undefined) {
      const hasR = R.has(k)
      const r = R.get(k)
      if (c.op === 'upsert') L.set(k, c.after)
      else L.delete(k)
      diff(k, hadL, l0, hasR, r, c.op === 'upsert', c.after, hasR, r)
      return
    }
    let fk1: Key | null = null
    if (c.op === 'upsert') {
      const fk = fkOf(c.after, d)
      if (fk === FAILED) return
      fk1 = fk
    }
    const fk0 = fks.get(k)
    unlink(k)
    if (c.op === 'upsert') {
      L.set(k, c.after)
      if (fk1 !== null) link(fk1, k)
    } else L.delete(k)
    const hasR0 = fk0 !== undefined && R.has(fk0)
    const hasR1 = fk1 !== null && R.has(fk1)
    diff(k, hadL, l0, hasR0, hasR0 ? R.get(fk0!) : undefined, c.op === 'upsert', c.after, hasR1, hasR1 ? R.get(fk1!) : undefined)
  }

  const onRight = (d: Data<C, unknown>) => {
    const c = d.value
    const bad = notAChange(c)
    if (bad !== undefined) return ctx.deadLetter(deadLetter('user', 'tableTableJoin', d.pos, bad, c))
    if (c.offset !== undefined) {
      if (c.offset <= rightOffset) return
      rightOffset = c.offset
    }
    const k = c.key
    const hadR = R.has(k)
    if (c.op === 'delete' && !hadR) return
    const r0 = R.get(k)
    if (c.op === 'upsert') R.set(k, c.after)
    else R.delete(k)
    const hasR = c.op === 'upsert'
    time = d.time
    pos = d.pos
    if (foreignKey === undefined) {
      const hasL = L.has(k)
      const l = L.get(k)
      diff(k, hasL, l, hadR, r0, hasL, l, hasR, c.after)
      return
    }
    const lefts = refs.get(k)
    if (lefts === undefined) return
    for (const lk of lefts) {
      const l = L.get(lk)
      diff(lk, true, l, hadR, r0, true, l, hasR, c.after)
    }
  }

  return {
    left: onLeft,
    right: onRight,
    watermark() {},
    snapshot: (): TableTableJoinState => ({
      left: [...L],
      right: [...R],
      leftOffset,
      rightOffset,
      ...(foreignKey === undefined ? {} : { refs: [...refs].map(([fk, ks]): [Key, Key[]] => [fk, [...ks]]) }),
    }),
    restore(state) {
      const s = state as TableTableJoinState
      L.clear()
      R.clear()
      refs.clear()
      fks.clear()
      for (const [k, v] of s.left) L.set(k, v)
      // The index as it was, in its order (a right change updates its left rows in that order).
      for (const [fk, ks] of s.refs ?? []) for (const k of ks) link(fk, k)
      for (const [k, v] of s.right) R.set(k, v)
      leftOffset = s.leftOffset
      rightOffset = s.rightOffset
    },
  }
}

/** Interprets a `TableTableJoin` node: left and right changelogs, watermark = their minimum. */
export function tableTableJoinOperator(
  spec: TableTableJoinSpec,
  left: Observable<Element<unknown>>,
  right: Observable<Element<unknown>>,
  ctx: RunContext,
): Observable<Element<unknown>> {
  return fromMachine2(ctx, left as Observable<Element<C>>, right as Observable<Element<C>>, (emit) => tableTableJoinMachine(spec, ctx, emit))
}
