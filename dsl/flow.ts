import { operatorNode, stream, type Stream, type Unkeyed } from './stream.ts'
import { toMillis, type Duration, formatDuration } from './time.ts'

export interface AsyncMapSpec {
  readonly f: (a: unknown) => Promise<unknown>
  readonly concurrency: number
}

/**
 * Maps each value through an async function, at most `concurrency` calls at once, results in input
 * order. Each event in flight holds one unit of the source's credit, so a slow `f` slows the source
 * down instead of queueing without bound. A rejected or throwing `f` sends the event to dead letters.
 *
 * @example
 * pipe(s, asyncMap((o: Order) => prices.get(o.sku), { concurrency: 8 }))
 */
export const asyncMap = <A, B>(f: (a: A) => Promise<B>, options: { concurrency?: number } = {}) => {
  const concurrency = options.concurrency ?? 1
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`asyncMap: concurrency must be a positive integer, got ${concurrency}`)
  const spec: AsyncMapSpec = { f: f as (a: unknown) => Promise<unknown>, concurrency }
  return <K>(s: Stream<A, K>): Stream<B, Unkeyed> =>
    stream(operatorNode('AsyncMap', `asyncMap(concurrency ${concurrency})`, [s.node], spec))
}

export interface MicrobatchSpec {
  readonly size: number
  readonly maxWait: number
}

/**
 * Groups events into blocks of `size`, or fewer when `maxWait` of processing time (the virtual clock
 * during replay) has passed since the block's first event, whichever comes first. A block's event
 * time is the largest of its events'; watermarks are held back while a block is open, so a block is
 * never behind the watermark that follows it. End of input flushes the last block.
 *
 * @example
 * pipe(s, microbatch(500, '100ms'))
 */
export const microbatch = (size: number, maxWait: Duration) => {
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`microbatch: size must be a positive integer, got ${size}`)
  const spec: MicrobatchSpec = { size, maxWait: toMillis(maxWait, 'microbatch') }
  return <A, K>(s: Stream<A, K>): Stream<A[], Unkeyed> =>
    stream(operatorNode('Microbatch', `microbatch(${size}, ${formatDuration(spec.maxWait)})`, [s.node], spec))
}

/** What a full buffer does with one more event. */
export type Overflow = 'block' | 'dropOldest' | 'dropNewest' | 'error'

export interface BufferSpec {
  readonly max: number
  readonly overflow: Overflow
}

/**
 * An explicit queue in front of the async stages after it, for inputs that push. While those
 * stages have no credit left, events wait here, up to `max`; then `overflow` decides: `'block'`
 * pauses the source (a pulled source stops at once; a push-only source cannot be paused, so use a
 * drop policy for those), `'dropOldest'` / `'dropNewest'` send the dropped event to dead letters
 * with reason `overflow`, `'error'` fails the run.
 *
 * @example
 * pipe(s, buffer({ max: 10_000, overflow: 'dropOldest' }), asyncMap(save))
 */
export const buffer = (options: { max: number; overflow: Overflow }) => {
  const { max, overflow } = options
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`buffer: max must be a positive integer, got ${max}`)
  if (!['block', 'dropOldest', 'dropNewest', 'error'].includes(overflow))
    throw new TypeError(`buffer: overflow must be 'block', 'dropOldest', 'dropNewest' or 'error', got ${JSON.stringify(overflow)}`)
  const spec: BufferSpec = { max, overflow }
  return <A, K>(s: Stream<A, K>): Stream<A, K> => stream(operatorNode('Buffer', `buffer(max ${max}, ${overflow})`, [s.node], spec))
}
