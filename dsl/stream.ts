/**
 * The description of a pipeline: plain, typed values (no RxJS here). `compile` interprets it into
 * RxJS operators, `explain` into text or Mermaid.
 */

/** Keys are primitives so that state can live in Maps without hashing objects. */
export type Key = string | number

declare const valueType: unique symbol
declare const keyType: unique symbol

/** Marks a stream that has not been keyed: keyed-only stages reject it at compile time. */
export interface Unkeyed {
  readonly _unkeyed: true
}

/** Stateless stages, fused at compile time into one operator. */
export type StatelessNode =
  | { readonly _tag: 'Map'; readonly input: Node; readonly f: (a: any) => unknown }
  | { readonly _tag: 'Filter'; readonly input: Node; readonly f: (a: any) => boolean }
  | { readonly _tag: 'FlatMap'; readonly input: Node; readonly f: (a: any) => Iterable<unknown> }
  | { readonly _tag: 'KeyBy'; readonly input: Node; readonly f: (a: any) => Key }
  | { readonly _tag: 'Tap'; readonly input: Node; readonly f: (a: any) => void }

/**
 * A stateful or multi-input stage. `kind` picks its interpreter in `compile`; `spec` is the stage's
 * own plain description; `label` is what `explain` prints.
 */
export interface OperatorNode {
  readonly _tag: 'Operator'
  readonly kind: string
  readonly label: string
  readonly inputs: readonly Node[]
  readonly spec: unknown
}

export type Node =
  | { readonly _tag: 'Source' }
  | StatelessNode
  | { readonly _tag: 'Merge'; readonly inputs: readonly Node[] }
  | OperatorNode

/**
 * A stream of `A` in the description: `K` is its key type (`Unkeyed` until `keyBy`).
 * Covariant in both, so a `Stream<Dog>` is a `Stream<Animal>`.
 */
export interface Stream<A, K = Unkeyed> {
  readonly node: Node
  readonly [valueType]?: A
  readonly [keyType]: K
}

/** A stream keyed by `K`: what windows, stateful joins and patterns accept. */
export type Keyed<K extends Key, A> = Stream<A, K>

/**
 * A stage applied where it cannot go, as a type: its one property's name is the message the
 * compiler prints ("property 'window needs a keyed stream: add keyBy first' is missing").
 */
export type StageError<Message extends string> = { readonly [m in Message]: never }

/** Nothing for a keyed stream; for an unkeyed one, the error naming `stage` and the fix. */
export type NeedsKey<K, Stage extends string> = [K] extends [Key] ? unknown : StageError<`${Stage} needs a keyed stream: add keyBy first`>

/**
 * Nothing for a stream keyed by `K` (the other side's key type); for an unkeyed stream or another
 * key type, the error naming `stage` and the fix.
 */
export type NeedsKeyOf<KS, K, Stage extends string> = [KS] extends [Key]
  ? [KS] extends [K]
    ? unknown
    : StageError<`${Stage} needs both sides keyed by the same key type`>
  : StageError<`${Stage} needs a keyed stream: add keyBy first`>

/** A stage: a typed function from stream to stream. */
export type Stage<A, B, KA = Unkeyed, KB = Unkeyed> = (s: Stream<A, KA>) => Stream<B, KB>

export const stream = <A, K = Unkeyed>(node: Node): Stream<A, K> => ({ node }) as unknown as Stream<A, K>

export const SOURCE: Node = { _tag: 'Source' }

/** Builds a stateful stage node; the stage constructors in dsl/ and the operator families use it. */
export const operatorNode = (kind: string, label: string, inputs: readonly Node[], spec: unknown): OperatorNode => ({
  _tag: 'Operator',
  kind,
  label,
  inputs,
  spec,
})
