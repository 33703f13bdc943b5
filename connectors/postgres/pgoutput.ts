import pg from 'pg'
import { exactJson } from './values.ts'

/**
 * The pgoutput logical replication protocol (version 1), decoded for `pgChanges`: the messages of
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html, with column
 * values parsed exactly (see `valueParser`) and each row's key computed from its text as it comes.
 */

/** A column of a relation message. */
export interface Column {
  readonly name: string
  readonly typeOid: number
  /** Part of the replica identity (the primary key under DEFAULT, every column under FULL). */
  readonly identity: boolean
  readonly parse: (text: string) => unknown
}

/** A table as the latest relation message describes it. */
export interface Relation {
  readonly oid: number
  readonly schema: string
  readonly name: string
  /** `d`efault, `n`othing, `f`ull or `i`ndex. */
  readonly replicaIdentity: string
  readonly columns: readonly Column[]
  /** Indexes into `columns` of the row key, set by the reader of the stream (see `pgChanges`). */
  keyColumns: readonly number[]
}

/** A decoded pgoutput message (positions as numbers, times as ms since the epoch); `other` for the kinds pgChanges ignores. */
export type Message =
  | { readonly tag: 'begin'; readonly finalLsn: number; readonly commitTime: number }
  | { readonly tag: 'commit'; readonly commitLsn: number; readonly endLsn: number; readonly commitTime: number }
  | { readonly tag: 'relation'; readonly relation: Relation }
  | { readonly tag: 'insert'; readonly relation: Relation; readonly row: Row }
  | { readonly tag: 'update'; readonly relation: Relation; readonly old: Row | undefined; readonly row: Row }
  | { readonly tag: 'delete'; readonly relation: Relation; readonly old: Row }
  | { readonly tag: 'truncate'; readonly relations: readonly Relation[] }
  | { readonly tag: 'other' }

/** A decoded tuple: its values by column name, its key, and the columns the WAL left out (unchanged TOAST). */
export interface Row {
  readonly values: Record<string, unknown>
  readonly key: string | number
  /** Columns sent as "unchanged TOAST" (no value in the WAL), or undefined when there are none. */
  readonly unchanged: string[] | undefined
  /** Only the replica identity columns were sent (the `K` form of an UPDATE's or DELETE's old row). */
  readonly keyOnly: boolean
}

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000

/** Options for how values are given. */
export interface ValueOptions {
  /** `'date'`: timestamp columns as `Date` (milliseconds); `'text'`: the server's ISO text, exact to the microsecond. */
  readonly timestamps: 'date' | 'text'
}

const TIMESTAMP = 1114
const TIMESTAMPTZ = 1184
const JSON_OID = 114
const JSONB = 3802
const NUMERIC_ARRAY = 1231
const TEXT_ARRAY = 1009

/**
 * The parser of a column's text value: pg's, except where pg's would alter the value: json and
 * jsonb keep integers beyond 2^53 as strings, `numeric[]` stays strings (as `numeric` does), and
 * timestamps may be asked for as their text (pg's Date has no microseconds).
 */
export function valueParser(typeOid: number, o: ValueOptions): (text: string) => unknown {
  if (typeOid === JSON_OID || typeOid === JSONB) return exactJson
  if (typeOid === NUMERIC_ARRAY) return pg.types.getTypeParser(TEXT_ARRAY as Parameters<typeof pg.types.getTypeParser>[0]) as (text: string) => unknown
  if ((typeOid === TIMESTAMP || typeOid === TIMESTAMPTZ) && o.timestamps === 'text') return identityText
  return pg.types.getTypeParser(typeOid) as (text: string) => unknown
}
const identityText = (text: string) => text

/**
 * A row key part in one form whatever the column's type: the value's text as the server sends it,
 * as a number when that text is an integer JS holds exactly (so `int` and `bigint` keys agree).
 */
export function keyPart(text: string | null): string | number | null {
  if (text === null) return null
  const n = text.length
  if (n > 0 && n <= 17) {
    const c0 = text.charCodeAt(0)
    let i = c0 === 45 /* - */ ? 1 : 0
    if (i < n && !(text.charCodeAt(i) === 48 && n > i + 1) && !(i === 1 && text === '-0')) {
      for (; i < n; i++) {
        const c = text.charCodeAt(i)
        if (c < 48 || c > 57) break
      }
      if (i === n) {
        const v = Number(text)
        if (Number.isSafeInteger(v)) return v
      }
    }
  }
  return text
}

/** Decodes the pgoutput messages of one replication session (relations are remembered across messages). */
export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>()
  private buf: Buffer = Buffer.alloc(0)
  private p = 0
  /** Key texts of the tuple being read, reused. */
  private readonly keyTexts: (string | null)[] = []

  constructor(private readonly values: ValueOptions) {}

  relation(oid: number): Relation | undefined {
    return this.relations.get(oid)
  }

  decode(b: Buffer): Message {
    this.buf = b
    this.p = 1
    switch (b[0]) {
      case 0x42 /* B */: {
        const finalLsn = this.lsn()
        return { tag: 'begin', finalLsn, commitTime: this.time() }
      }
      case 0x43 /* C */: {
        this.p++ // flags
        const commitLsn = this.lsn()
        const endLsn = this.lsn()
        return { tag: 'commit', commitLsn, endLsn, commitTime: this.time() }
      }
      case 0x52 /* R */:
        return { tag: 'relation', relation: this.readRelation() }
      case 0x49 /* I */: {
        const relation = this.rel()
        this.p++ // 'N'
        return { tag: 'insert', relation, row: this.tuple(relation, false) }
      }
      case 0x55 /* U */: {
        const relation = this.rel()
        const kind = this.buf[this.p++]
        let old: Row | undefined
        if (kind === 0x4b /* K */ || kind === 0x4f /* O */) {
          old = this.tuple(relation, kind === 0x4b)
          this.p++ // 'N'
        }
        return { tag: 'update', relation, old, row: this.tuple(relation, false) }
      }
      case 0x44 /* D */: {
        const relation = this.rel()
        const kind = this.buf[this.p++]
        return { tag: 'delete', relation, old: this.tuple(relation, kind === 0x4b) }
      }
      case 0x54 /* T */: {
        const n = this.int32()
        this.p++ // flags
        const relations: Relation[] = []
        for (let i = 0; i < n; i++) relations.push(this.rel())
        return { tag: 'truncate', relations }
      }
      default:
        // Type ('Y'), origin ('O') and logical decoding messages ('M') carry nothing pgChanges gives.
        return { tag: 'other' }
    }
  }

  private readRelation(): Relation {
    const oid = this.int32()
    const schema = this.string()
    const name = this.string()
    const replicaIdentity = String.fromCharCode(this.buf[this.p++])
    const n = this.buf.readInt16BE(this.p)
    this.p += 2
    const columns: Column[] = []
    for (let i = 0; i < n; i++) {
      const flags = this.buf[this.p++]
      const colName = this.string()
      const typeOid = this.int32()
      this.p += 4 // type modifier
      columns.push({ name: colName, typeOid, identity: (flags & 1) === 1, parse: valueParser(typeOid, this.values) })
    }
    const r: Relation = { oid, schema, name, replicaIdentity, columns, keyColumns: [] }
    this.relations.set(oid, r)
    return r
  }

  private rel(): Relation {
    const oid = this.int32()
    const r = this.relations.get(oid)
    if (r === undefined) throw new Error(`pgChanges: a change of relation ${oid} came before its relation message (a protocol error)`)
    return r
  }

  private tuple(rel: Relation, keyOnly: boolean): Row {
    const b = this.buf
    const n = b.readInt16BE(this.p)
    this.p += 2
    const values: Record<string, unknown> = {}
    const cols = rel.columns
    let unchanged: string[] | undefined
    const texts = this.keyTexts
    texts.length = 0
    for (let i = 0; i < n; i++) {
      const col = cols[i]
      const kind = b[this.p++]
      if (kind === 0x74 /* t */ || kind === 0x62 /* b */) {
        const len = b.readInt32BE(this.p)
        this.p += 4
        const text = b.toString('utf8', this.p, this.p + len)
        this.p += len
        if (!keyOnly || col.identity) values[col.name] = col.parse(text)
        texts[i] = text
      } else if (kind === 0x75 /* u */) {
        ;(unchanged ??= []).push(col.name)
        texts[i] = null
      } else {
        // 'n': null, or a column left out of a key-only tuple.
        if (!keyOnly || col.identity) values[col.name] = null
        texts[i] = null
      }
    }
    return { values, key: this.keyOf(rel), unchanged, keyOnly }
  }

  private keyOf(rel: Relation): string | number {
    const k = rel.keyColumns
    const texts = this.keyTexts
    if (k.length === 1) return keyPart(texts[k[0]] ?? null) ?? 'null'
    const parts: (string | number | null)[] = []
    for (let i = 0; i < k.length; i++) parts.push(keyPart(texts[k[i]] ?? null))
    return JSON.stringify(parts)
  }

  private lsn(): number {
    const v = this.buf.readUInt32BE(this.p) * 0x1_0000_0000 + this.buf.readUInt32BE(this.p + 4)
    this.p += 8
    return v
  }

  /** A timestamp (µs since 2000-01-01) as ms since the Unix epoch. */
  private time(): number {
    const us = this.buf.readBigInt64BE(this.p)
    this.p += 8
    return Number(us / 1000n) + PG_EPOCH_MS
  }

  private int32(): number {
    const v = this.buf.readInt32BE(this.p)
    this.p += 4
    return v
  }

  private string(): string {
    const end = this.buf.indexOf(0, this.p)
    const s = this.buf.toString('utf8', this.p, end)
    this.p = end + 1
    return s
  }
}
