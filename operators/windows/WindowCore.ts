import type { Data } from '../../dsl/element.ts'
import { deadLetter, errorMessage, type WindowBounds } from '../../dsl/sides.ts'
import type { Key } from '../../dsl/stream.ts'
import { windowId, type WindowResult, type WindowSpec } from '../../dsl/windows.ts'
import type { Change } from '../../dsl/change.ts'
import type { RunContext } from '../core/context.ts'
import type { Emit, Machine } from '../core/machine.ts'
import { compileAggregator, type CompiledAggregator } from './aggregator.ts'
import { DueQueue, type Timed } from './DueQueue.ts'
import { copyState } from '../core/taggedJson.ts'
import { inOrderPush, type Push, type Slow } from './inOrderPush.ts'

/**
 * One open window of one key. Mutable: sessions grow and merge in place, and the accumulator is
 * folded in place, so an in-order event allocates nothing.
 */
export class Win implements Timed {
  // Fields are `declare`d and set in the constructor, in one order: class-field initializers would
  // first define every field as undefined, and the hot path then reads fields of a generic kind
  // (measured: about a third slower per in-order event).
  /** When the firing queue acts on it next: `end` until it fires (`'final'`), then `end + L`. */
  declare due: number
  /** `'final'` mode: the current bounds have been emitted since `W` reached `end`. */
  declare fired: boolean
  /** Freed or merged away: its queue entries are stale. */
  declare dead: boolean
  /** The result last emitted, with its bounds (undefined: none, or in `'updates'` mode retracted). */
  declare last: WindowResult<Key, unknown> | undefined
  /**
   * `'final'` mode: bounds of results emitted for sessions merged into this one, which its next
   * result replaces (see `emitResult`); undefined when none.
   */
  declare stale: WindowBounds[] | undefined
  /** Its key's state (the kind's), so that freeing it needs no lookup. */
  declare readonly home: KeyState
  declare start: number
  declare end: number
  declare acc: unknown
  /** Source position of the latest event folded in (for output records and dead letters). */
  declare pos: number
  /**
   * When it was opened, among its machine's windows, for a kind that queues a window only when it
   * is its key's next to fire (`unqueued`): windows due together fire in this order.
   */
  declare seq: number

  constructor(home: KeyState, start: number, end: number, acc: unknown, pos: number) {
    // Assigned in this order, the fields the in-order path reads lie side by side at the start.
    this.start = start
    this.end = end
    this.acc = acc
    this.pos = pos
    this.home = home
    this.due = Number.NaN
    this.fired = false
    this.dead = false
    this.last = undefined
    this.stale = undefined
    this.seq = 0
  }

  get key(): Key {
    return this.home.key
  }
}

/** A per-key timer owned by a window kind (the sliding window's buffer pruning). */
export interface KeyTimer extends Timed {
  readonly key: Key
}

/** What every kind's per-key state has: its key. */
export interface KeyState {
  readonly key: Key
}

/**
 * A window type: which windows an event belongs to, and the per-key state that finds them. The
 * shared machine does the rest (lateness, firing, freeing, emission, checkpoints), so a new window
 * type is one small file.
 */
export interface WindowKind<S extends KeyState> {
  /**
   * Present when the key's state keeps `cur`, where its latest in-order event was folded (its
   * window, or a slice that windows share), and an event with `cur.start <= t < cur.end`, while
   * `cur.end > W`, needs no more than a fold into `cur`: then such events take the generated
   * in-order path (`inOrderPush`), which also grows `cur.end` to `t + extend`.
   */
  readonly inOrder?: { readonly extend: number }
  /**
   * True when an event may open many windows at once, due at times that other keys' windows share
   * (hopping): the firing queue then keeps one bucket per due time (`DueQueue`'s `byTime`), not one
   * per window a key's first event opens.
   */
  readonly sharedDueTimes?: boolean
  /** Fresh state for a key seen for the first time (or again, after all its windows were freed). */
  newKey(key: Key): S
  /**
   * Adds the event just read by the aggregator (`core.fold`) to each of its windows still open,
   * opening windows as needed (`core.open`), and reports each change (`core.touched`). Returns
   * false, having changed nothing, when no window is left for it: the event is late.
   */
  add(core: WindowCore<S>, ks: S, t: number, value: unknown, pos: number): boolean
  /** The windows an event at `t` belongs to, reported with a late event. */
  windowsOf(t: number): WindowBounds[]
  /** True when the key holds no window and nothing else, so its state can go. */
  isEmpty(ks: S): boolean
  /**
   * Forgets a freed window (the machine drops key states left empty in its sweeps). `w` is not read
   * again by the machine: the kind may reuse it at once.
   */
  free(ks: S, w: Win, core: WindowCore<S>): void
  /** Puts a restored window back into its key's state. */
  restore(ks: S, w: Win): void
  /**
   * Sets `w.acc` (and `w.pos`) as the window fires, for a kind that computes window values when
   * they fire rather than folding each event into each window (`slidingIncrementalKind`).
   */
  settle?(core: WindowCore<S>, ks: S, w: Win): void
  /** The accumulator `settle` would give `w` now, for a checkpoint (it may set `w.pos`, as `settle` would). */
  peek?(core: WindowCore<S>, ks: S, w: Win): unknown
  /**
   * Present when the kind holds some open windows as start times only, not queued, and queues each
   * (`schedule`) once it is its key's next window to fire: adds those of `ks` to `out`, as windows
   * due at their end with their `seq`, for a checkpoint. Windows due together then fire in the order
   * they were opened (`Win.seq`), not the order they were queued, and count as open from `opened`.
   */
  unqueued?(ks: S, out: Win[]): void
  /** Acts on a due per-key timer; true when the key holds nothing more. */
  onKeyTimer?(core: WindowCore<S>, ks: S): boolean
  /** Extra per-key state for checkpoints (plain data), and its inverse. */
  snapshotKey?(ks: S): unknown
  restoreKey?(core: WindowCore<S>, ks: S, state: unknown): void
}

interface WinState {
  readonly key: Key
  readonly start: number
  readonly end: number
  readonly acc: unknown
  readonly pos: number
  readonly fired: boolean
  readonly due: number
  readonly emitted?: WindowResult<Key, unknown>
  readonly stale?: readonly WindowBounds[]
}

interface MachineState {
  readonly watermark: number
  readonly windows: readonly WinState[]
  readonly keys: readonly (readonly [Key, unknown])[]
}

/** Key states allowed beyond twice the live ones before a sweep (see `sweep`). */
const SWEEP_SLACK = 1024

/** What `result` gives for a window whose `result` threw (it went to dead letters). */
const FAILED: unique symbol = Symbol('failed')

/** Opening order, for windows due together (`WindowKind.unqueued`). */
const bySeq = (a: Win | KeyTimer, b: Win | KeyTimer): number => (a as Win).seq - (b as Win).seq

/** Stage name on late events and dead letters. */
const LATE_STAGE = 'window'
const AGG_STAGE = 'aggregate'

/**
 * The windowing machine shared by every window type: per-key state, the lateness rule, the firing
 * queue, emission (`'final'` results or an `'updates'` changelog), freeing, and checkpoints.
 *
 * Rules (docs/semantics.md, "Windows"): a window `[start, end)` fires when `W >= end` and is freed when
 * `W >= end + L`. An event is judged against the watermark just before it (the machine sees the event
 * before the watermark it advances); the kind decides which open windows it joins; an event that
 * joins none goes to `ctx.late` with its windows. A change to a window whose `end <= W` is emitted at
 * once (allowed lateness); otherwise `'final'` mode waits for the firing.
 */
export class WindowCore<S extends KeyState> implements Machine<unknown, Key> {
  /** The current watermark. */
  W = Number.NEGATIVE_INFINITY
  /** Allowed lateness in ms. */
  readonly L: number
  readonly agg: CompiledAggregator
  private readonly updates: boolean
  private readonly keys = new Map<Key, S>()
  private readonly queue: DueQueue<Win | KeyTimer>
  private open_ = 0
  /** Key states beyond which the next watermark sweeps empty ones (see `sweep`). */
  private sweepAbove = SWEEP_SLACK
  /** The kind queues windows when next due (`unqueued`): those due together fire by `seq`. */
  private readonly bySeq: boolean
  /**
   * One event, in parts (`data` is the same for a record): the generated in-order path when the kind
   * has one and emission is `'final'`, else `pushSlow`.
   */
  readonly push: Push

  constructor(
    private readonly kind: WindowKind<S>,
    spec: WindowSpec,
    private readonly ctx: RunContext,
    private readonly emit: Emit<unknown, Key>,
    options: { readonly aggregator?: CompiledAggregator } = {},
  ) {
    this.L = spec.allowedLateness
    this.queue = new DueQueue({ byTime: kind.sharedDueTimes === true })
    this.updates = spec.emit === 'updates'
    this.bySeq = kind.unqueued !== undefined
    this.agg = options.aggregator ?? compileAggregator(spec.aggregation)
    const slow: Slow = (value, time, key, pos, ks) => this.pushSlow(value, time, key, pos, ks as S | undefined)
    this.push =
      kind.inOrder !== undefined && !this.updates
        ? inOrderPush(this.keys as Map<Key, never>, this, this.agg, kind.inOrder.extend, slow, (e, value, pos) =>
            this.ctx.deadLetter(deadLetter('user', AGG_STAGE, pos, errorMessage(e), value)),
          )
        : slow
  }

  /** How many windows hold state right now (bounded by open windows, never by events). */
  get openWindows(): number {
    return this.open_
  }

  /** How many keys hold state right now. */
  get openKeys(): number {
    return this.keys.size
  }

  data(d: Data<unknown, Key>): void {
    this.push(d.value, d.time, d.key, d.pos)
  }

  /** The general path: any event, any window kind, either emission mode. */
  pushSlow(value: unknown, time: number, key: Key, pos: number, known?: S): void {
    try {
      this.agg.read(value)
    } catch (e) {
      this.ctx.deadLetter(deadLetter('user', AGG_STAGE, pos, errorMessage(e), value))
      return
    }
    let ks = known ?? this.keys.get(key)
    if (ks === undefined) {
      // Key states left empty are dropped in sweeps, as new keys come, not as their last window
      // goes: every key's window of one period is freed by the same watermark and each in-order key
      // opens its next one soon after, so dropping and rebuilding its state every window would
      // cost more than the window itself.
      if (this.keys.size >= this.sweepAbove) this.sweep()
      this.keys.set(key, (ks = this.kind.newKey(key)))
    }
    let joined: boolean
    try {
      joined = this.kind.add(this, ks, time, value, pos)
    } catch (e) {
      // Only a user `add` or `merge` throws here (reads happened above): the event goes to dead letters.
      if (this.kind.isEmpty(ks)) this.keys.delete(key)
      this.ctx.deadLetter(deadLetter('user', AGG_STAGE, pos, errorMessage(e), value))
      return
    }
    if (!joined) {
      if (this.kind.isEmpty(ks)) this.keys.delete(key)
      this.ctx.late({
        _tag: 'Late',
        value,
        time,
        key,
        pos,
        watermark: this.W,
        stage: LATE_STAGE,
        windows: this.kind.windowsOf(time),
      })
    }
  }

  watermark(w: number): void {
    this.W = w
    // Most watermarks release nothing (every in-order event raises one): one comparison, done. Kept
    // this small so that it inlines into the code that raises the watermark.
    if (this.queue.first <= w || w === Number.POSITIVE_INFINITY) this.release(w)
  }

  /** Fires and frees what the watermark `w` (already `W`) has made due. */
  private release(w: number): void {
    const q = this.queue
    while (q.hasDue(w)) {
      const due = q.first
      const items = q.pop()
      // Queued as each came to be its key's next, not as they were opened: back to opening order
      // (mostly in order already, which the sort finds in one pass).
      if (this.bySeq) items.sort(bySeq)
      for (let i = 0; i < items.length; i++) {
        const item = items[i]
        if (item.due !== due) continue
        // Not `instanceof Win`: a module's class binding is not a constant to the optimizer, so that
        // test is a generic lookup of `Symbol.hasInstance`, per window. Key timers have no `home`.
        if ('home' in item) this.onDue(item, due)
        else this.onKeyTimer(item)
      }
    }
    if (w === Number.POSITIVE_INFINITY) this.sweep()
  }

  /**
   * A new window with a fresh accumulator, for the kind to fold into and then keep; it counts as
   * open from its first `touched` (a fold that throws first leaves nothing to count or free).
   */
  open(ks: S, start: number, end: number, pos: number): Win {
    return new Win(ks, start, end, this.agg.init(), pos)
  }

  /**
   * `w`, a window of `ks` already freed, made the new window `open` would make, holding `acc`: for a
   * kind that keeps its key's freed windows to reuse. A window that stays open for long outlives the
   * young generation, so each new one is copied and promoted by the collector before it dies.
   */
  reopen(w: Win, start: number, end: number, acc: unknown, pos: number): Win {
    w.start = start
    w.end = end
    w.acc = acc
    w.pos = pos
    w.due = Number.NaN
    w.fired = false
    w.dead = false
    w.last = undefined
    w.stale = undefined
    return w
  }

  /** Folds the event last read into `w`. */
  fold(w: Win, pos: number): void {
    w.acc = this.agg.fold(w.acc)
    w.pos = pos
  }

  /** Reads another (buffered) event and folds it into `w`: for windows built from a buffer. */
  readAndFold(w: Win, value: unknown): void {
    this.agg.read(value)
    w.acc = this.agg.fold(w.acc)
  }

  /**
   * Retires `from`, whose accumulator the kind has merged into `into`'s (sessions): in `'updates'`
   * mode it is retracted; in `'final'` mode the results it had emitted are replaced by `into`'s next.
   */
  retire(into: Win, from: Win): void {
    if (from.pos > into.pos) into.pos = from.pos
    if (this.updates) {
      if (from.last !== undefined) this.emitDelete(from)
    } else {
      if (from.last !== undefined) (into.stale ??= []).push(from.last.window)
      if (from.stale !== undefined) (into.stale ??= []).push(...from.stale)
    }
    from.dead = true
    from.due = Number.NaN
    this.open_--
  }

  /**
   * Reports a change to `w` (an event added, bounds grown, sessions merged) and keeps its firing
   * entry right. `'updates'`: an upsert now. `'final'`: if `W >= end` already, the window is
   * (re-)emitted now; otherwise it waits for the firing at `end`.
   */
  touched(w: Win): void {
    // Never queued yet: a window just opened (freed and merged-away windows are never touched again).
    if (Number.isNaN(w.due)) this.open_++
    let due: number
    if (this.updates) {
      this.emitUpsert(w)
      due = w.end + this.L
    } else if (w.end <= this.W) {
      w.fired = true
      this.emitResult(w)
      due = w.end + this.L
    } else {
      w.fired = false
      due = w.end
    }
    // Only an earlier time needs a new entry. A later one (a session growing with every event) keeps
    // the entry it has: when that comes due, `onDue` finds the window not ready and queues it once at
    // its time then, so a growing window costs one queue operation per gap, not one per event.
    if (!(w.due <= due)) this.queue.add(due, w)
  }

  /**
   * Counts a window the kind holds without queueing it yet (`unqueued`): what `touched` counts
   * for a window it queues.
   */
  opened(): void {
    this.open_++
  }

  /**
   * Queues a per-key timer of the kind at `due`, or a window held unqueued (`unqueued`) that is
   * now its key's next to fire, at its end.
   */
  schedule(t: KeyTimer | Win, due: number): void {
    this.queue.add(due, t)
  }

  private onDue(w: Win, due: number): void {
    if (w.dead) return
    if (!this.updates && !w.fired) {
      // An entry older than the window's end (it grew): requeue at the end, even when W has passed
      // it, so windows released by one watermark still fire in end order.
      if (w.end > due) {
        this.queue.add(w.end, w)
        return
      }
      w.fired = true
      if (this.kind.settle !== undefined) this.kind.settle(this, w.home as S, w)
      this.emitResult(w)
    }
    const freeAt = w.end + this.L
    if (freeAt > this.W) {
      this.queue.add(freeAt, w)
      return
    }
    w.dead = true
    w.due = Number.NaN
    // Nothing reads a freed window's value or result again; a kind may keep the window to reuse
    // (`reopen`), and should not keep them alive with it.
    w.acc = w.last = undefined
    this.open_--
    const ks = w.home as S
    this.kind.free(ks, w, this)
  }

  /**
   * Drops every key state that holds nothing. The next sweep waits until key states are twice those
   * left (plus a constant): each sweep then looks at no more states than were added since the last
   * one, and empty states never outnumber, by more than the constant, the most live ones.
   */
  private sweep(): void {
    for (const [k, ks] of this.keys) if (this.kind.isEmpty(ks)) this.keys.delete(k)
    this.sweepAbove = 2 * this.keys.size + SWEEP_SLACK
  }

  private onKeyTimer(t: KeyTimer): void {
    const ks = this.keys.get(t.key)
    if (ks === undefined || ks !== (t as unknown)) return
    if (this.kind.onKeyTimer!(this, ks)) this.keys.delete(t.key)
  }

  /** The window's value, or FAILED after a throwing `result` went to dead letters. */
  private result(w: Win): unknown {
    try {
      return this.agg.result(w.acc)
    } catch (e) {
      this.ctx.deadLetter(deadLetter('user', AGG_STAGE, w.pos, errorMessage(e), { key: w.key, window: { start: w.start, end: w.end } }))
      return FAILED
    }
  }

  /** Every output carries the window's key and the time `end - 1`, its last instant. */
  private out(w: Win, end: number, value: unknown): void {
    this.emit({ _tag: 'Data', value, time: end - 1, key: w.key, pos: w.pos })
  }

  /**
   * A `'final'` result. When it stands in for results emitted earlier under other bounds (the
   * session grew, or sessions merged into it, after they had fired), it lists them in `replaces`,
   * so a consumer keyed by (key, window) deletes them; each stale result is listed once.
   */
  private emitResult(w: Win): void {
    const value = this.result(w)
    if (value === FAILED) return
    const replaces = this.replaced(w)
    const window = { start: w.start, end: w.end }
    const res: WindowResult<Key, unknown> = replaces === undefined ? { key: w.key, window, value } : { key: w.key, window, value, replaces }
    w.last = res
    w.stale = undefined
    this.out(w, w.end, res)
  }

  /** The bounds of earlier results that `w`'s next result replaces, by start, or undefined. */
  private replaced(w: Win): WindowBounds[] | undefined {
    let out: WindowBounds[] | undefined
    const prev = w.last?.window
    if (prev !== undefined && (prev.start !== w.start || prev.end !== w.end)) out = [prev]
    const stale = w.stale
    if (stale !== undefined)
      for (let i = 0; i < stale.length; i++) if (stale[i].start !== w.start || stale[i].end !== w.end) (out ??= []).push(stale[i])
    if (out !== undefined && out.length > 1) out.sort((a, b) => a.start - b.start || a.end - b.end)
    return out
  }

  private emitUpsert(w: Win): void {
    const value = this.result(w)
    if (value === FAILED) return
    const last = w.last
    const same = last !== undefined && last.window.start === w.start && last.window.end === w.end
    if (!same && last !== undefined) this.emitDelete(w)
    const after: WindowResult<Key, unknown> = { key: w.key, window: { start: w.start, end: w.end }, value }
    const c: { op: 'upsert'; key: string; after: WindowResult<Key, unknown>; before?: WindowResult<Key, unknown> } = {
      op: 'upsert',
      key: windowId(w.key, after.window),
      after,
    }
    if (same) c.before = last
    w.last = after
    this.out(w, w.end, c)
  }

  private emitDelete(w: Win): void {
    const before = w.last!
    const c: Change<string, WindowResult<Key, unknown>> = { op: 'delete', key: windowId(w.key, before.window), before }
    w.last = undefined
    this.out(w, before.window.end, c)
  }

  snapshot(): MachineState {
    const windows: WinState[] = []
    const keys: [Key, unknown][] = []
    const wins: Win[] = []
    for (const item of this.queue.live()) if (item instanceof Win) wins.push(item)
    if (this.kind.unqueued !== undefined) {
      // In firing order, as a restore queues them: by due time, then by opening.
      for (const ks of this.keys.values()) this.kind.unqueued(ks, wins)
      wins.sort((a, b) => a.due - b.due || a.seq - b.seq)
    }
    for (const item of wins) {
      const acc = this.kind.peek !== undefined && !item.fired ? this.kind.peek(this, item.home as S, item) : item.acc
      const emitted = item.last
      windows.push({
        key: item.key,
        start: item.start,
        end: item.end,
        acc,
        pos: item.pos,
        fired: item.fired,
        due: item.due,
        ...(emitted ? { emitted } : {}),
        ...(item.stale ? { stale: item.stale } : {}),
      })
    }
    if (this.kind.snapshotKey) for (const [k, ks] of this.keys) if (!this.kind.isEmpty(ks)) keys.push([k, this.kind.snapshotKey(ks)])
    // A deep copy: accumulators are folded in place after the snapshot is taken.
    return copyState({ watermark: this.W, windows, keys })
  }

  restore(state: unknown): void {
    const s = copyState(state as MachineState)
    this.keys.clear()
    this.queue.clear()
    this.sweepAbove = SWEEP_SLACK
    this.open_ = 0
    this.W = s.watermark === null ? Number.NEGATIVE_INFINITY : s.watermark
    const keyOf = (k: Key): S => {
      let ks = this.keys.get(k)
      if (ks === undefined) this.keys.set(k, (ks = this.kind.newKey(k)))
      return ks
    }
    for (const ws of s.windows) {
      const home = keyOf(ws.key)
      const w = new Win(home, ws.start, ws.end, ws.acc, ws.pos)
      w.fired = ws.fired
      w.last = ws.emitted
      w.stale = ws.stale === undefined ? undefined : [...ws.stale]
      this.open_++
      this.kind.restore(home, w)
      // The entry's own time, which may be earlier than the window's (see `touched`): same firing order as before.
      this.queue.add(ws.due, w)
    }
    for (const [k, extra] of s.keys) this.kind.restoreKey!(this, keyOf(k), extra)
  }
}
