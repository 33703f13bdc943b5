import type pg from 'pg'
import type { Change } from '../../dsl/change.ts'
import type { Key } from '../../dsl/stream.ts'
import { deadLetter } from '../../dsl/sides.ts'
import type { PulledRecord, PulledSource } from '../sources.ts'
export { createCdc, dropCdc } from './admin.ts'
import { clientConfig, primaryKeyOf, senderTimeoutOf, slotState, walFlushedLsn } from './admin.ts'
import { sessionFailure } from './failures.ts'
import { PgoutputDecoder, type Message, type Relation, type Row } from './pgoutput.ts'
import { ReplicationSession } from './wire.ts'

/**
 * One row change captured from PostgreSQL: a `Change` keyed by the row's primary key, with the table
 * it happened in and its WAL positions. Keys are in one form whatever the column types (see
 * docs/cdc.md): one key column gives its value's text, as a number when it is an integer JS holds
 * exactly (so `int` and `bigint` keys agree); several give a JSON array of those; a table without a
 * primary key is keyed by its replica identity, or by the whole row. `before` is the old row of an
 * UPDATE or DELETE when the table has `REPLICA IDENTITY FULL`.
 */
export interface RowChange<V = Record<string, unknown>> extends Change<Key, V> {
  /** `schema.table`. */
  readonly table: string
  /** WAL position of this change (`X/Y`). */
  readonly lsn: string
  /** WAL position of its transaction's commit record: changes arrive in commit order, a transaction at a time. */
  readonly commitLsn: string
  /**
   * When its transaction committed, by the server's clock, in ms since the epoch: the change's own
   * event time (`eventTime: (c) => c.commitTime`), the same for every change of a transaction and
   * non-decreasing in commit order (unless the server's clock steps back).
   */
  readonly commitTime: number
}

/** Options of `pgChanges`. */
export interface PgChangesOptions {
  /** A `pg` connection string or client config (the replication connection is derived from it). */
  readonly connection: string | pg.ClientConfig
  /** The logical replication slot (pgoutput): the server keeps changes there until acknowledged. */
  readonly slot: string
  /** The publication naming the captured tables (see `createCdc`). */
  readonly publication: string
  /** Changes held in memory before the replication stream is paused (default 4096); a transaction may be larger. */
  readonly maxBuffered?: number
  /**
   * End of input once no change has come for this long and the server has sent all the WAL written
   * before (so a transaction it is still decoding does not look idle); default: never.
   */
  readonly stopWhenIdleMs?: number
  readonly signal?: AbortSignal
  /**
   * When the server ends the stream (a restart, a failover, a network cut), or cannot be reached at
   * start: attempts to connect, `delayMs` apart at first, each delay twice the last up to 5 s
   * (default 10 attempts from 100 ms, about 20 s). Then the source fails with one line naming its slot.
   */
  readonly reconnect?: { readonly attempts?: number; readonly delayMs?: number }
  /** `'date'` (default): timestamp columns as `Date`, to the millisecond; `'text'`: the server's text, exact to the microsecond. */
  readonly timestamps?: 'date' | 'text'
}

/** How far the slot is behind, see `PgChangesSource.lag`. */
export interface SlotLag {
  /** WAL bytes the server keeps for the slot (from its restart position to now): disk it cannot recycle. */
  readonly retainedBytes: number
  /** WAL bytes written since the slot's confirmed position. */
  readonly unconfirmedBytes: number
  /** Commit time (ms since the epoch) of the oldest transaction delivered and not yet acknowledged, if any (to the second). */
  readonly oldestUnackedCommit: number | undefined
  /** pg_replication_slots.wal_status: `reserved`, `extended`, `unreserved` (about to be invalidated) or `lost`. */
  readonly walStatus: string
}

/** `pgChanges`: a pulled source that also reports its slot's lag and its own counters. */
export interface PgChangesSource<V> extends PulledSource<RowChange<V>> {
  /** The slot's lag now (asks the server). */
  lag(): Promise<SlotLag>
  /** `run` adds these to its metrics (`metrics.source`): the slot's lag, the most changes held at once, reconnections. */
  metrics(): Promise<Readonly<Record<string, number>>>
}

/** `X/Y` (hex) as a number, for comparing WAL positions (exact below 2^53 bytes of WAL). */
export const lsnToNumber = (lsn: string): number => {
  const slash = lsn.indexOf('/')
  return parseInt(lsn.slice(0, slash), 16) * 0x1_0000_0000 + parseInt(lsn.slice(slash + 1), 16)
}

/** A WAL position as `X/Y` (hex). */
export const numberToLsn = (n: number): string =>
  `${Math.floor(n / 0x1_0000_0000).toString(16).toUpperCase()}/${(n % 0x1_0000_0000).toString(16).toUpperCase()}`

/** How long a slot still held by a consumer that just went away may be waited for. */
const BUSY_GRACE_MS = 3000
const MAX_DELAY_MS = 5000

/** A change on its way to `ready`: its token is set at the commit when it is its transaction's last. */
type Held<V> = { -readonly [P in keyof PulledRecord<RowChange<V>>]: PulledRecord<RowChange<V>>[P] }

/** An inbox entry: a pgoutput message, a keepalive's WAL end, or the end of a session. */
type Inbound = { readonly walStart: number; readonly payload: Buffer } | { readonly walEnd: number } | 'reset'

/**
 * Streams the INSERTs, UPDATEs and DELETEs of a publication's tables from a logical replication
 * slot (pgoutput) as `RowChange`s, in commit order, a transaction at a time. A source `run` pulls
 * with its credit: at most `maxBuffered` changes wait in memory, then the replication stream is
 * paused, even inside a transaction, so a transaction of millions of rows streams through.
 *
 * Acknowledgement is manual and late: only a transaction's last change carries a position (its
 * commit), the others a null token, so `run` takes no checkpoint inside a transaction, and the
 * slot's confirmed position moves to a commit only when `run` acknowledges that change. A restarted
 * source resumes at the first transaction not acknowledged: nothing is lost, and transactions the
 * server sends again at or before an acknowledged commit, or before a position confirmed as
 * received, are skipped (a server restart may send them again). When nothing is pending (every
 * delivered transaction acknowledged), the source confirms what it has received, as PostgreSQL's
 * own subscribers do: the slot advances while the published tables are quiet, and the server can
 * shut down (`pg_ctl stop -m fast` waits for that).
 *
 * If the server ends the stream, the source reconnects (see `reconnect`) and resumes without loss
 * or repetition; it fails at once, with one line saying what to do, when the slot is missing,
 * invalidated or used by another consumer. TRUNCATE is a dead letter naming the tables (as
 * Debezium skips it by default): rebuild the views of those tables. See docs/cdc.md.
 *
 * Values come as pgoutput's text parsed by pg: `int2/int4` as numbers, `int8`/`numeric` (and their
 * arrays) as strings, json/jsonb parsed with integers beyond 2^53 as strings, `timestamptz` as Date
 * (or exact text with `timestamps: 'text'`); give the pipeline an io-ts codec to normalise them.
 *
 * @example
 * const changes = pgChanges({ connection: process.env.DATABASE_URL!, slot: 'weir', publication: 'weir' })
 * await run(accountsView, changes, { sink })
 */
export function pgChanges<V = Record<string, unknown>>(o: PgChangesOptions): PgChangesSource<V> {
  return new CdcReader<V>(o).source()
}

class CdcReader<V> {
  private readonly config: pg.ClientConfig
  private readonly maxBuffered: number
  private readonly decoder: PgoutputDecoder
  private session: ReplicationSession | undefined
  private started = false
  private closing = false
  private failure: Error | undefined
  private senderTimeoutMs = 0
  private statusTimer: ReturnType<typeof setInterval> | undefined
  private lastStatusAt = 0
  private lastConfirmed = -1

  /** Changes ready for `pull`, at most `maxBuffered`. */
  private ready: PulledRecord<RowChange<V>>[] = []
  /** Messages received, not yet decoded (the stream is paused while `ready` is full). */
  private inbox: Inbound[] = []
  private draining = false
  private peakBuffered = 0
  private reconnects = 0

  /** Positions: acknowledged by `run`, last commit delivered, received with nothing open, furthest the server reported. */
  private acked = 0
  private delivered = 0
  private received = 0
  private serverPos = 0
  /**
   * Transactions committed before this are in the view already, or on their way in `ready`:
   * delivered, acknowledged, or passed (received, so the slot may be confirmed there). The server
   * may send them again after a reconnection (a restart can forget a confirmation: PostgreSQL
   * before 17 does not save one at shutdown), and they are skipped: applied again, they would set
   * the view back behind a position already confirmed, and a crash before the replay caught up
   * would keep it there (a deleted row back for good).
   */
  private skipThrough = -1

  /** The transaction being received. */
  private inTxn = false
  private txnSkipped = false
  private txnFinal = 0
  private txnCommitLsn = ''
  private txnCommitTime = 0
  /** The transaction's latest change, held back until the next one or the commit, which gives it its token. */
  private held: Held<V> | undefined
  /** Changes of the open transaction put in `ready`; after a reconnection that many of its resent changes are skipped. */
  private txnSent = 0
  private resumeSkip = 0
  private partial: { readonly finalLsn: number; readonly sent: number } | undefined

  /** Delivered, unacknowledged commits by second: `[endLsn of the last, commit time of the first]` pairs. */
  private unacked: [number, number][] = []
  private lastDataAt = Date.now()
  private wakeReader: (() => void) | undefined

  constructor(private readonly o: PgChangesOptions) {
    this.config = clientConfig(o.connection)
    this.maxBuffered = o.maxBuffered ?? 4096
    if (!Number.isSafeInteger(this.maxBuffered) || this.maxBuffered < 2) throw new TypeError(`pgChanges: maxBuffered must be an integer of at least 2, got ${String(o.maxBuffered)}`)
    this.decoder = new PgoutputDecoder({ timestamps: o.timestamps ?? 'date' })
  }

  source(): PgChangesSource<V> {
    return {
      _tag: 'Pulled',
      identity: `postgres slot ${this.o.slot} publication ${this.o.publication}`,
      pull: (max, options) => this.pull(max, options?.wait !== false),
      ack: (tokens) => this.ack(tokens),
      close: () => this.close(),
      lag: () => this.lag(),
      metrics: () => this.metrics(),
    }
  }

  private async pull(max: number, wait: boolean): Promise<readonly PulledRecord<RowChange<V>>[] | undefined> {
    if (!this.started) await this.start()
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      if (this.ready.length > 0) {
        this.lastDataAt = Date.now()
        const out = this.ready.length <= max ? this.ready : this.ready.splice(0, max)
        if (out === this.ready) this.ready = []
        this.drain()
        return out
      }
      if (this.o.signal?.aborted) return undefined
      if (this.o.stopWhenIdleMs !== undefined && Date.now() - this.lastDataAt >= this.o.stopWhenIdleMs && (await this.idle())) return undefined
      if (!wait) return []
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve
        setTimeout(resolve, 50)
      })
    }
  }

  private async ack(tokens: readonly unknown[]): Promise<void> {
    let last: string | undefined
    for (const t of tokens) if (typeof t === 'string') last = t
    if (last === undefined) return
    const at = lsnToNumber(last)
    if (at > this.skipThrough) this.skipThrough = at
    if (at > this.acked) this.acked = at
    while (this.unacked.length > 0 && this.unacked[0][0] <= this.acked) this.unacked.shift()
    // Before the stream starts (a checkpoint re-acknowledging on restore), remember it only.
    this.sendStatus(false)
  }

  private async close(): Promise<void> {
    this.closing = true
    clearInterval(this.statusTimer)
    await this.session?.close()
  }

  private async start(): Promise<void> {
    this.started = true
    this.senderTimeoutMs = await senderTimeoutOf(this.config).catch(() => 0)
    await this.connect(true)
    // Status updates at least every 10 s (as pg_recvlogical) and well within wal_sender_timeout,
    // also while the stream is paused, and soon after the confirmable position moves. A paused
    // stream is not read, so the end of its session (a restart, a cut) shows only when a write
    // fails: it sends one each tick, and a server that went away is noticed within a second.
    const every = Math.min(10_000, this.senderTimeoutMs > 0 ? this.senderTimeoutMs / 3 : 10_000)
    this.statusTimer = setInterval(() => {
      if (this.confirmable() !== this.lastConfirmed || this.session?.isPaused || Date.now() - this.lastStatusAt >= every) this.sendStatus(false)
    }, Math.min(1000, every))
    this.statusTimer.unref?.()
  }

  /** Opens a session, retrying what may pass (a server restarting, a slot still held by a consumer that died); fails with one line otherwise. */
  private async connect(first: boolean): Promise<void> {
    const attempts = this.o.reconnect?.attempts ?? 10
    let delay = this.o.reconnect?.delayMs ?? 100
    const began = Date.now()
    let lastError = ''
    for (let attempt = 0; ; attempt++) {
      if (this.closing) return
      try {
        this.session = await ReplicationSession.start(
          { config: this.config, slot: this.o.slot, publication: this.o.publication },
          { data: (walStart, payload) => this.receive({ walStart, payload }), keepalive: (walEnd, now) => this.keepalive(walEnd, now), ended: (e) => this.ended(e) },
        )
        // Closed while connecting: the new session is not wanted.
        if (this.closing) await this.session.close()
        return
      } catch (e) {
        const f = sessionFailure(e, this.o.slot, this.o.publication)
        if (f.kind === 'fatal') throw this.fail(f.message)
        lastError = f.message
        const busyTooLong = f.kind === 'busy' && Date.now() - began >= BUSY_GRACE_MS
        if (busyTooLong || attempt + 1 >= attempts) {
          throw this.fail(
            f.kind === 'busy'
              ? f.message
              : `pgChanges (slot "${this.o.slot}"): ${first ? 'could not connect' : 'lost the replication connection and could not reconnect'}: ${attempt + 1} attempts over ${Math.round((Date.now() - began) / 1000)} s, last: ${lastError}; check the server, then run again (the source resumes at its last acknowledged commit)`,
          )
        }
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(MAX_DELAY_MS, delay * 2)
      }
    }
  }

  private fail(message: string): Error {
    this.failure ??= new Error(message)
    this.wakeReader?.()
    return this.failure
  }

  /** The session ended under us: drop what it left half-read and reconnect. */
  private ended(e: unknown): void {
    this.session = undefined
    if (this.closing) return
    const f = sessionFailure(e, this.o.slot, this.o.publication)
    if (f.kind === 'fatal') {
      this.fail(f.message)
      return
    }
    this.inbox.push('reset')
    this.drain()
    this.reconnects++
    this.connect(false).catch(() => undefined)
  }

  private receive(m: { readonly walStart: number; readonly payload: Buffer }): void {
    if (m.walStart > this.serverPos) this.serverPos = m.walStart
    this.inbox.push(m)
    this.drain()
  }

  private keepalive(walEnd: number, replyNow: boolean): void {
    if (walEnd > this.serverPos) this.serverPos = walEnd
    // Ordered with the messages before it: its position counts as received only once they are.
    this.inbox.push({ walEnd })
    this.drain()
    if (replyNow) this.sendStatus(false)
  }

  /**
   * What the slot may confirm: every delivered transaction acknowledged, all that was received (the
   * server sends nothing more for it); otherwise the last acknowledged commit.
   */
  private confirmable(): number {
    return this.delivered > this.acked ? this.acked : Math.max(this.acked, this.received)
  }

  private sendStatus(replyNow: boolean): void {
    if (this.session === undefined) return
    const at = this.confirmable()
    this.session.confirm(at, replyNow)
    this.lastConfirmed = at
    this.lastStatusAt = Date.now()
  }

  /**
   * Decodes inbox messages while `ready` has room, then pauses the stream if it has none. Runs
   * synchronously (one call per socket message, no promise), except that a relation message waits
   * for the catalog: `draining` stays set meanwhile, and the lookup's end drains on.
   */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    const inbox = this.inbox
    let i = 0
    try {
      for (; i < inbox.length; i++) {
        // One message adds at most two changes (an UPDATE that moved its key): `ready` stays within maxBuffered.
        if (this.ready.length >= this.maxBuffered - 1) break
        const m = inbox[i]
        if (m === 'reset') this.reset()
        else if ('walEnd' in m) {
          if (!this.inTxn) this.pass(m.walEnd)
        } else {
          const msg = this.decoder.decode(m.payload)
          if (msg.tag === 'relation') {
            // The key of the relation as it is now (a renamed or retyped key column, a table new to
            // the publication): the stream waits for the catalog.
            inbox.splice(0, i + 1)
            i = 0
            this.keyColumns(msg.relation).then(
              () => {
                this.draining = false
                this.drain()
              },
              (e: unknown) => this.fail(`pgChanges (slot "${this.o.slot}"): reading the key of ${msg.relation.schema}.${msg.relation.name}: ${e instanceof Error ? e.message : String(e)}`),
            )
            return
          }
          this.handle(msg, m.walStart)
        }
      }
    } catch (e) {
      this.fail(`pgChanges (slot "${this.o.slot}"): ${e instanceof Error ? e.message : String(e)}`)
    }
    if (i === inbox.length) inbox.length = 0
    else if (i > 0) inbox.splice(0, i)
    this.draining = false
    if (this.ready.length >= this.maxBuffered - 1) this.session?.pause()
    else this.session?.resume()
    if (this.ready.length > this.peakBuffered) this.peakBuffered = this.ready.length
    if (this.ready.length > 0) this.wakeReader?.()
  }

  private handle(msg: Message, walStart: number): void {
    switch (msg.tag) {
      case 'begin':
        this.begin(msg.finalLsn, msg.commitTime)
        return
      case 'insert':
        if (!this.txnSkipped) this.emit(this.change('upsert', msg.relation, walStart, undefined, msg.row))
        return
      case 'update':
        if (!this.txnSkipped) this.update(msg.relation, msg.old, msg.row, walStart)
        return
      case 'delete':
        if (!this.txnSkipped) this.emit(this.change('delete', msg.relation, walStart, msg.old.keyOnly ? undefined : msg.old, undefined, msg.old))
        return
      case 'truncate':
        if (!this.txnSkipped) {
          const tables = msg.relations.map((r) => `${r.schema}.${r.name}`).join(', ')
          const why = `pgChanges: TRUNCATE of ${tables} (not a row change, and no keys to delete): rebuild the views of ${tables} from the tables`
          this.emit(this.rejected(why, { truncate: msg.relations.map((r) => `${r.schema}.${r.name}`), lsn: numberToLsn(walStart) }))
        }
        return
      case 'commit':
        this.commit(msg.endLsn)
        return
      default:
        return
    }
  }

  private begin(finalLsn: number, commitTime: number): void {
    this.inTxn = true
    this.txnFinal = finalLsn
    this.txnCommitLsn = numberToLsn(finalLsn)
    this.txnCommitTime = commitTime
    // Sent again after a restart or reconnection although already delivered or acknowledged.
    this.txnSkipped = finalLsn < this.skipThrough
    this.held = undefined
    // The transaction a session left open comes again: its changes already given are skipped, and
    // still count as given should this session end inside it too. Transactions before it may come
    // again first (sent again from the slot's confirmed position): it is still to come.
    const resumed = this.partial !== undefined && this.partial.finalLsn === finalLsn ? this.partial.sent : 0
    this.txnSent = resumed
    this.resumeSkip = resumed
    if (this.partial !== undefined && finalLsn >= this.partial.finalLsn) this.partial = undefined
  }

  private commit(endLsn: number): void {
    this.inTxn = false
    const last = this.held
    this.held = undefined
    if (this.txnSkipped || last === undefined) {
      this.pass(endLsn)
      return
    }
    last.token = numberToLsn(endLsn)
    this.ready.push(last)
    this.delivered = endLsn
    if (endLsn > this.skipThrough) this.skipThrough = endLsn
    const tail = this.unacked[this.unacked.length - 1]
    if (tail !== undefined && this.txnCommitTime - tail[1] < 1000) tail[0] = endLsn
    else this.unacked.push([endLsn, this.txnCommitTime])
  }

  /** Everything before `at` was received, with nothing open: it may be confirmed, and is not applied again. */
  private pass(at: number): void {
    if (at > this.received) this.received = at
    if (at > this.skipThrough) this.skipThrough = at
  }

  /** A session ended: what it left of an open transaction comes again, its first `txnSent` changes to be skipped. */
  private reset(): void {
    if (this.inTxn && !this.txnSkipped) this.partial = { finalLsn: this.txnFinal, sent: this.txnSent }
    this.inTxn = false
    this.held = undefined
  }

  private emit(r: Held<V>): void {
    if (this.resumeSkip > 0) {
      this.resumeSkip--
      return
    }
    if (this.held !== undefined) {
      this.ready.push(this.held)
      this.txnSent++
    }
    this.held = r
    this.lastDataAt = Date.now()
  }

  /** A change the source cannot give whole: a dead letter in its place in the transaction. */
  private rejected(why: string, input: unknown): Held<V> {
    return { value: undefined as unknown as RowChange<V>, pos: 0, token: null, rejected: deadLetter('parse', 'source', 0, why, input) }
  }

  private change(op: 'upsert' | 'delete', rel: Relation, lsn: number, before: Row | undefined, after: Row | undefined, keyRow?: Row): Held<V> {
    const c: { -readonly [P in keyof RowChange<V>]: RowChange<V>[P] } = {
      op,
      key: (after ?? keyRow ?? before)!.key,
      table: `${rel.schema}.${rel.name}`,
      lsn: numberToLsn(lsn),
      commitLsn: this.txnCommitLsn,
      commitTime: this.txnCommitTime,
    }
    if (before !== undefined) c.before = before.values as V
    if (after !== undefined) c.after = after.values as V
    return { value: c, pos: 0, token: null }
  }

  /**
   * An UPDATE: a delete of the old key first when the update moved the row to another key (or a
   * view would keep the old row), then the upsert. A column left unchanged and stored out of line
   * (TOAST) comes without its value unless the table has REPLICA IDENTITY FULL: such an update
   * cannot be given whole, and is a dead letter saying so, not a row missing a column.
   */
  private update(rel: Relation, old: Row | undefined, row: Row, lsn: number): void {
    if (row.unchanged !== undefined) {
      const table = `${rel.schema}.${rel.name}`
      const why = `pgChanges: an UPDATE of ${table} left ${row.unchanged.join(', ')} unchanged and stored out of line (TOAST), and the WAL does not carry such values: set REPLICA IDENTITY FULL on ${table}`
      this.emit(this.rejected(why, row.values))
      return
    }
    const before = old === undefined || old.keyOnly ? undefined : old
    if (old !== undefined && old.key !== row.key) this.emit(this.change('delete', rel, lsn, before, undefined, old))
    this.emit(this.change('upsert', rel, lsn, before, row))
  }

  /**
   * A relation's key columns: its replica identity as the relation message gives it (the primary
   * key under DEFAULT, the index under USING INDEX), or, under FULL or NOTHING, the primary key
   * from the catalog; the whole row when there is neither.
   */
  private async keyColumns(rel: Relation): Promise<void> {
    const byFlag: number[] = []
    rel.columns.forEach((c, i) => c.identity && byFlag.push(i))
    if (rel.replicaIdentity === 'd' || rel.replicaIdentity === 'i') {
      if (byFlag.length > 0) {
        rel.keyColumns = byFlag
        return
      }
    }
    const pk = await primaryKeyOf(this.config, rel.oid)
    const idx = pk.map((name) => rel.columns.findIndex((c) => c.name === name))
    rel.keyColumns = idx.length > 0 && idx.every((i) => i >= 0) ? idx : rel.columns.map((_, i) => i)
  }

  /**
   * No change for `stopWhenIdleMs`: idle only if the server has nothing more to send (its position
   * reached the WAL flushed now) or is not moving at all; a server still decoding a large
   * transaction is progress, and the wait starts again.
   */
  private async idle(): Promise<boolean> {
    if (this.inbox.length > 0 || this.inTxn || this.session === undefined) return false
    let target: number
    try {
      target = lsnToNumber(await walFlushedLsn(this.config))
    } catch {
      return false // the server is away: the session's reconnection decides
    }
    const from = this.serverPos
    for (let i = 0; i < 20 && this.serverPos < target; i++) {
      this.sendStatus(true)
      await new Promise((r) => setTimeout(r, 50))
    }
    if (this.ready.length > 0 || this.inbox.length > 0 || this.inTxn) return false
    if (this.serverPos >= target || this.serverPos === from) return true
    this.lastDataAt = Date.now()
    return false
  }

  private async lag(): Promise<SlotLag> {
    const s = await slotState(this.config, this.o.slot)
    return {
      retainedBytes: s?.retainedBytes ?? 0,
      unconfirmedBytes: s?.unconfirmedBytes ?? 0,
      oldestUnackedCommit: this.unacked[0]?.[1],
      walStatus: s?.walStatus ?? 'lost',
    }
  }

  private async metrics(): Promise<Readonly<Record<string, number>>> {
    const lag = await this.lag().catch(() => undefined)
    const m: Record<string, number> = { peakBuffered: this.peakBuffered, reconnects: this.reconnects }
    if (lag !== undefined) {
      m.slotRetainedBytes = lag.retainedBytes
      m.slotUnconfirmedBytes = lag.unconfirmedBytes
      if (lag.oldestUnackedCommit !== undefined) m.oldestUnackedCommitAgeMs = Date.now() - lag.oldestUnackedCommit
    }
    return m
  }
}
