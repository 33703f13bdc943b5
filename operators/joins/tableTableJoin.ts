import { notAChange, type Change } from '../../dsl/change.ts'
import type { Data } from '../../dsl/element.ts'
import type { TableTableJoinSpec } from '../../dsl/joins.ts'
import { deadLetter, errorMessage } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import type { RunContext } from '../core/context.ts'
import type { Machine2 } from './twoInputs.ts'

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

/** One key's row in both input tables (equal-key joins), and when the key entered each of them. */
interface Row {
  left: unknown
  right: unknown
  hasLeft: boolean
  hasRight: boolean
  /** Entry order into each table, for snapshots (a table lists its keys in the order they entered). */
  leftSeq: number
  rightSeq: number
}

/** What a change to one joined row emits, shared by both kinds of join. */
interface RowDiff {
  /** Emits how the joined row for `key` went from (l0, r0) to (l1, r1); nothing if it is absent in both. */
  diff(key: Key, hasL0: boolean, l0: unknown, hasR0: boolean, r0: unknown, hasL1: boolean, l1: unknown, hasR1: boolean, r1: unknown): void
  /** The time and position the next emitted changes carry (the input change's). */
  at(d: Data<unknown, unknown>): void
}

function rowDiff(type: TableTableJoinSpec['type'], emit: (d: Data<unknown, unknown>) => void): RowDiff {
  let time = 0
  let pos = 0
  const exists = (hasL: boolean, hasR: boolean): boolean =>
    type === 'inner' ? hasL && hasR : type === 'left' ? hasL : hasL || hasR
  return {
    at(d) {
      time = d.time
      pos = d.pos
    },
    diff(key, hasL0, l0, hasR0, r0, hasL1, l1, hasR1, r1) {
      const was = exists(hasL0, hasR0)
      const is = exists(hasL1, hasR1)
      let c: C
      if (is) {
        const after = { left: hasL1 ? l1 : undefined, right: hasR1 ? r1 : undefined }
        c = was ? { op: 'upsert', key, before: { left: hasL0 ? l0 : undefined, right: hasR0 ? r0 : undefined }, after } : { op: 'upsert', key, after }
      } else if (was) c = { op: 'delete', key, before: { left: hasL0 ? l0 : undefined, right: hasR0 ? r0 : undefined } }
      else return
      emit({ _tag: 'Data', value: c, time, key, pos })
    },
  }
}

/**
 * Admits one side's changes: one that is not a change goes to dead letters, one whose offset that
 * side has already applied is skipped (redelivery). Returns the change to apply, or undefined.
 */
class Admission {
  offset = -1
  constructor(private readonly ctx: RunContext) {}

  admit(d: Data<C, unknown>): C | undefined {
    const c = d.value
    const bad = notAChange(c)
    if (bad !== undefined) {
      this.ctx.deadLetter(deadLetter('user', 'tableTableJoin', d.pos, bad, c))
      return undefined
    }
    if (c.offset !== undefined) {
      if (c.offset <= this.offset) return undefined
      this.offset = c.offset
    }
    return c
  }
}

/**
 * The table-table join's state machine (see `tableTableJoin` in dsl/joins.ts). A change is turned into
 * the difference between the joined row(s) it touches before and after.
 */
export function tableTableJoinMachine(
  spec: TableTableJoinSpec,
  ctx: RunContext,
  emit: (d: Data<unknown, unknown>) => void,
): Machine2<C, C> {
  const out = rowDiff(spec.type, emit)
  return spec.foreignKey === undefined ? keyJoin(ctx, out) : foreignKeyJoin(spec.foreignKey, ctx, out)
}

/**
 * The join on equal keys: both tables in one Map of rows, so a change finds its row and the other
 * side's value with one lookup (in a big table, each lookup of a key is a cache miss; two Maps took two).
 */
function keyJoin(ctx: RunContext, out: RowDiff): Machine2<C, C> {
  const rows = new Map<Key, Row>()
  const lefts = new Admission(ctx)
  const rights = new Admission(ctx)
  let seq = 0

  const row = (k: Key): Row => {
    let r = rows.get(k)
    if (r === undefined) {
      r = { left: undefined, right: undefined, hasLeft: false, hasRight: false, leftSeq: 0, rightSeq: 0 }
      rows.set(k, r)
    }
    return r
  }
  const setLeft = (r: Row, v: unknown) => {
    if (!r.hasLeft) r.leftSeq = seq++
    r.left = v
    r.hasLeft = true
  }
  const setRight = (r: Row, v: unknown) => {
    if (!r.hasRight) r.rightSeq = seq++
    r.right = v
    r.hasRight = true
  }

  const onLeft = (d: Data<C, unknown>) => {
    const c = lefts.admit(d)
    if (c === undefined) return
    const k = c.key
    const r = rows.get(k)
    const hadL = r !== undefined && r.hasLeft
    if (c.op === 'delete' && !hadL) return
    out.at(d)
    const l0 = hadL ? r.left : undefined
    const hasR = r !== undefined && r.hasRight
    const rv = hasR ? r.right : undefined
    if (c.op === 'upsert') setLeft(r ?? row(k), c.after)
    else if (hasR) {
      r!.hasLeft = false
      r!.left = undefined
    } else rows.delete(k)
    out.diff(k, hadL, l0, hasR, rv, c.op === 'upsert', c.after, hasR, rv)
  }

  const onRight = (d: Data<C, unknown>) => {
    const c = rights.admit(d)
    if (c === undefined) return
    const k = c.key
    const r = rows.get(k)
    const hadR = r !== undefined && r.hasRight
    if (c.op === 'delete' && !hadR) return
    out.at(d)
    const r0 = hadR ? r.right : undefined
    const hasL = r !== undefined && r.hasLeft
    const l = hasL ? r.left : undefined
    if (c.op === 'upsert') setRight(r ?? row(k), c.after)
    else if (hasL) {
      r!.hasRight = false
      r!.right = undefined
    } else rows.delete(k)
    out.diff(k, hasL, l, hadR, r0, hasL, l, c.op === 'upsert', c.after)
  }

  /** One table's entries in the order its keys entered it, as two Maps would list them. */
  const table = (has: (r: Row) => boolean, seqOf: (r: Row) => number, value: (r: Row) => unknown): Array<[Key, unknown]> =>
    [...rows]
      .filter(([, r]) => has(r))
      .sort(([, a], [, b]) => seqOf(a) - seqOf(b))
      .map(([k, r]) => [k, value(r)])

  return {
    left: onLeft,
    right: onRight,
    watermark() {},
    snapshot: (): TableTableJoinState => ({
      left: table((r) => r.hasLeft, (r) => r.leftSeq, (r) => r.left),
      right: table((r) => r.hasRight, (r) => r.rightSeq, (r) => r.right),
      leftOffset: lefts.offset,
      rightOffset: rights.offset,
    }),
    restore(state) {
      const s = state as TableTableJoinState
      rows.clear()
      seq = 0
      for (const [k, v] of s.left) setLeft(row(k), v)
      for (const [k, v] of s.right) setRight(row(k), v)
      lefts.offset = s.leftOffset
      rights.offset = s.rightOffset
    },
  }
}

/**
 * The foreign-key join: the left table, the right table, and an index from each right key to the
 * left keys pointing at it, in the order a right change updates them.
 */
function foreignKeyJoin(foreignKey: (v: unknown) => unknown, ctx: RunContext, out: RowDiff): Machine2<C, C> {
  const L = new Map<Key, unknown>()
  const R = new Map<Key, unknown>()
  /** Right key -> the left keys whose value points at it, and back. */
  const refs = new Map<Key, Set<Key>>()
  const fks = new Map<Key, Key>()
  const lefts = new Admission(ctx)
  const rights = new Admission(ctx)

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
      fk = foreignKey(v)
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
    const c = lefts.admit(d)
    if (c === undefined) return
    const k = c.key
    const hadL = L.has(k)
    if (c.op === 'delete' && !hadL) return
    const l0 = L.get(k)
    out.at(d)
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
    out.diff(k, hadL, l0, hasR0, hasR0 ? R.get(fk0!) : undefined, c.op === 'upsert', c.after, hasR1, hasR1 ? R.get(fk1!) : undefined)
  }

  const onRight = (d: Data<C, unknown>) => {
    const c = rights.admit(d)
    if (c === undefined) return
    const k = c.key
    const hadR = R.has(k)
    if (c.op === 'delete' && !hadR) return
    const r0 = R.get(k)
    if (c.op === 'upsert') R.set(k, c.after)
    else R.delete(k)
    const hasR = c.op === 'upsert'
    out.at(d)
    const ls = refs.get(k)
    if (ls === undefined) return
    for (const lk of ls) {
      const l = L.get(lk)
      out.diff(lk, true, l, hadR, r0, true, l, hasR, c.after)
    }
  }

  return {
    left: onLeft,
    right: onRight,
    watermark() {},
    snapshot: (): TableTableJoinState => ({
      left: [...L],
      right: [...R],
      leftOffset: lefts.offset,
      rightOffset: rights.offset,
      refs: [...refs].map(([fk, ks]): [Key, Key[]] => [fk, [...ks]]),
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
      lefts.offset = s.leftOffset
      rights.offset = s.rightOffset
    },
  }
}
