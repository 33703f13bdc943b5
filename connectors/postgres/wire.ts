import pg from 'pg'
import type { Connection } from 'pg'

/**
 * One logical replication session over the streaming replication protocol
 * (https://www.postgresql.org/docs/current/protocol-replication.html): `START_REPLICATION`, then
 * XLogData and primary keepalive messages in, standby status updates out. `pgChanges` owns the
 * policy (what to confirm, when to reconnect); this module only speaks the protocol.
 */

/** What a session reports to its owner. */
export interface SessionHandlers {
  /** An XLogData message: its WAL start and its pgoutput payload. */
  readonly data: (walStart: number, payload: Buffer) => void
  /** A primary keepalive: the server's WAL end (what it has sent up to) and whether it asks for a reply now. */
  readonly keepalive: (walEnd: number, replyNow: boolean) => void
  /** The session ended after it started: `error` is why (undefined after `close`). */
  readonly ended: (error: unknown) => void
}

/** Where the session starts: the slot, the publication, and the options of the connection. */
export interface SessionOptions {
  readonly config: pg.ClientConfig
  readonly slot: string
  readonly publication: string
}

/** Server settings the replication connection needs whatever the user's are: values parse the same in every session. */
const SESSION_SETTINGS = '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c extra_float_digits=3'

export class ReplicationSession {
  private closed = false
  private paused = false

  private constructor(
    private readonly client: pg.Client,
    private readonly connection: Connection,
  ) {}

  /**
   * Connects and starts streaming from the slot's confirmed position. Rejects with the server's
   * error when the stream cannot start (no such slot, slot in use, slot invalidated).
   */
  static async start(o: SessionOptions, h: SessionHandlers): Promise<ReplicationSession> {
    const options = o.config.options === undefined ? SESSION_SETTINGS : `${o.config.options} ${SESSION_SETTINGS}`
    const client = new pg.Client({ ...o.config, options, replication: 'database' } as pg.ClientConfig)
    // Errors reach the owner through the START_REPLICATION query (it fails when the session does);
    // without a listener pg would throw them at the process.
    client.on('error', () => undefined)
    await client.connect()
    const connection = (client as unknown as { connection: Connection }).connection
    const session = new ReplicationSession(client, connection)
    connection.on('copyData', (m: { chunk: Buffer }) => session.receive(m.chunk, h))
    const started = new Promise<void>((resolve) => connection.once('replicationStart', () => resolve()))
    const sql = `START_REPLICATION SLOT ${pg.escapeIdentifier(o.slot)} LOGICAL 0/0 (proto_version '1', publication_names ${pg.escapeLiteral(o.publication)})`
    const streaming = client.query(sql)
    try {
      await Promise.race([started, streaming.then(() => Promise.reject(new Error('the server ended the replication stream before it started')))])
    } catch (e) {
      session.closed = true
      await client.end().catch(() => undefined)
      throw e
    }
    streaming.then(
      () => session.end(h, new Error('the server ended the replication stream')),
      (e: unknown) => session.end(h, e),
    )
    return session
  }

  /** Tells the server everything up to `lsn` is received and flushed (the slot may let it go). */
  confirm(lsn: number, replyNow = false): void {
    if (this.closed) return
    const b = Buffer.alloc(34)
    b[0] = 0x72 // 'r'
    writeLsn(b, 1, lsn) // written
    writeLsn(b, 9, lsn) // flushed
    writeLsn(b, 17, lsn) // applied
    b.writeBigInt64BE(BigInt(Date.now() - 946_684_800_000) * 1000n, 25)
    b[33] = replyNow ? 1 : 0
    try {
      ;(this.connection as unknown as { sendCopyFromChunk(b: Buffer): void }).sendCopyFromChunk(b)
    } catch {
      // The socket is gone: the session's end is reported by the stream itself.
    }
  }

  /** Stops reading the socket (the server then stops sending, through TCP flow control). */
  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    this.socket()?.pause()
  }

  resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.socket()?.resume()
  }

  get isPaused(): boolean {
    return this.paused
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.socket()?.resume()
    await this.client.end().catch(() => undefined)
  }

  private socket(): { pause(): void; resume(): void } | undefined {
    return (this.connection as unknown as { stream?: { pause(): void; resume(): void } }).stream
  }

  private receive(chunk: Buffer, h: SessionHandlers): void {
    if (this.closed) return
    const pos = chunk.readUInt32BE(1) * 0x1_0000_0000 + chunk.readUInt32BE(5)
    if (chunk[0] === 0x77 /* w */) h.data(pos, chunk.subarray(25))
    else if (chunk[0] === 0x6b /* k */) h.keepalive(pos, chunk[17] === 1)
  }

  private end(h: SessionHandlers, e: unknown): void {
    if (this.closed) return
    this.closed = true
    void this.client.end().catch(() => undefined)
    h.ended(e)
  }
}

function writeLsn(b: Buffer, at: number, lsn: number): void {
  b.writeUInt32BE(Math.floor(lsn / 0x1_0000_0000), at)
  b.writeUInt32BE(lsn % 0x1_0000_0000, at + 4)
}
