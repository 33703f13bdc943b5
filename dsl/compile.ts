import { Observable, filter, share, type OperatorFunction } from 'rxjs'
import type { Data, Element, SourceRecord } from './element.ts'
import type { Pipeline } from './pipeline.ts'
import type { Node, OperatorNode, StatelessNode } from './stream.ts'
import { isChainable, junctionOf, operatorOf, stageKinds } from './interpreters.ts'
import { isStateless, physicalPlan, type ChainLink, type Step } from './plan.ts'
import { makeContext, stageContext, type ContextOptions, type RunContext } from '../operators/core/context.ts'
import { fused } from '../operators/core/fused.ts'
import { freshIngestState, ingest, ingestStep, reusableRecord } from '../operators/core/ingest.ts'
import { mergeElements } from '../operators/core/mergeElements.ts'
import { stageSubscriber } from '../operators/core/subscriber.ts'
import { Hub } from '../operators/core/Hub.ts'
import type { Downstream, Segment } from '../operators/core/chained.ts'

/**
 * Builds the physical plan (see `physicalPlan`) as RxJS. `source(segments)` gives the ingested
 * source stream with the given segments chained into ingest itself (see `link`); every other step
 * is an RxJS operator of its own. `shared`: the chain's end is read by several steps, so the source
 * must multicast it, fed once every reader has subscribed.
 */
function build(
  output: Step,
  source: (segments: readonly Segment[], isOutput: boolean, shared: boolean) => Observable<Element<unknown>>,
  ctx: RunContext,
): Observable<Element<unknown>> {
  const memo = new Map<Step, Observable<Element<unknown>>>()
  const go = (s: Step): Observable<Element<unknown>> => {
    const hit = memo.get(s)
    if (hit) return hit
    let obs: Observable<Element<unknown>>
    switch (s._tag) {
      case 'Chain':
        obs = source(s.links.map(segmentOf), s === output, s.shared)
        break
      case 'Source':
        obs = source([], false, false)
        break
      case 'Fused':
        obs = go(s.input).pipe(fused(s.stages, ctx))
        break
      case 'Merge':
        obs = mergeElements(s.inputs.map(go))
        break
      case 'Operator':
        // The machines its operator makes as it is subscribed belong to its node (see `MachineRegistry`).
        obs = operatorOf(s.node)(s.node, s.inputs.map(go), stageContext(ctx, s.node))
    }
    // The source is fed only after every branch has subscribed, so sharing loses nothing (a chain's
    // end is multicast by the source itself: it reads the input directly, which `share` would
    // subscribe again for a late branch).
    if (s.shared && s._tag !== 'Source' && s._tag !== 'Chain') obs = obs.pipe(share())
    memo.set(s, obs)
    return obs
  }
  return go(output)
}

const segmentOf = (l: ChainLink): Segment =>
  l._tag === 'Stateless'
    ? l
    : l._tag === 'Machine'
      ? machineSegment(l.node)
      : { _tag: 'Junction', node: l.node, make: junctionOf, branches: l.branches.map((b) => b.map(segmentOf)) }

/** A chained single-input stage: its machine, or the link its kind makes (see `StageKind`). */
const machineSegment = (node: OperatorNode): Segment => {
  const kind = stageKinds[node.kind]
  return kind.machine !== undefined ? { _tag: 'Machine', node, make: kind.machine } : { _tag: 'Link', node, make: kind.link! }
}

export interface ElementsOptions {
  /**
   * Whether the output carries watermarks (default true). A consumer that only wants data (a sink,
   * `compile`, a run without `onWatermark`) says so: stages inside still see every watermark, but
   * none is built or delivered at the output, which saves a record and a hop per in-order event.
   */
  readonly watermarks?: boolean
}

/**
 * Compiles a pipeline to an operator over source records (`Data` whose `time` is the arrival time
 * and `pos` the source position, or a `Batch` of them) that yields data and in-band watermarks. The
 * harness and the connectors use this form; most users want `compile` or `run`.
 */
export function compileElements<I, O, K>(
  p: Pipeline<I, O, K>,
  ctx: RunContext,
  options: ElementsOptions = {},
): OperatorFunction<SourceRecord, Element<O, K>> {
  const watermarks = options.watermarks ?? true
  // Several sources: the input carries routed records, each named source stamps its own.
  const routed = p.sources !== undefined
  return (input) =>
    new Observable<Element<O, K>>((subscriber) => {
      // A source read by several branches is multicast through a hub, fed once all have subscribed.
      let hub: Hub<Element<unknown>> | undefined
      let outputChained = false
      // A chain whose end several stages read: multicast, connected to the input after them all.
      let chainHub: { readonly hub: Hub<Element<unknown>>; readonly feed: Observable<Element<unknown>> } | undefined
      const source = (segments: readonly Segment[], isOutput: boolean, shared: boolean): Observable<Element<unknown>> => {
        if (segments.length > 0) {
          outputChained ||= isOutput
          const feed = input.pipe(ingest(p, ctx, segments, { watermarks: watermarks || !isOutput || shared, routed }))
          if (!shared) return feed
          chainHub = { hub: new Hub<Element<unknown>>(), feed }
          return chainHub.hub
        }
        hub ??= new Hub<Element<unknown>>()
        return hub
      }
      let out = build(physicalPlan(p.output.node, isChainable), source, ctx) as Observable<Element<O, K>>
      if (!watermarks && !outputChained) out = out.pipe(filter((e): e is Data<O, K> => e._tag === 'Data'))
      const outSub = out.subscribe(subscriber)
      const inSub = hub ? input.pipe(ingest(p, ctx, [], { routed })).subscribe(hub) : chainHub ? chainHub.feed.subscribe(chainHub.hub) : undefined
      return () => {
        inSub?.unsubscribe()
        outSub.unsubscribe()
      }
    })
}

export interface CompileOptions extends ContextOptions {}

/** True when the pipeline is only stateless stages over its source: then no watermark is needed. */
const statelessChain = (output: Node): StatelessNode[] | undefined => {
  const stages: StatelessNode[] = []
  let n = output
  while (isStateless(n)) {
    stages.unshift(n)
    n = n.input
  }
  return n._tag === 'Source' ? stages : undefined
}

/**
 * Compiles a pipeline to an RxJS operator from source values to output values. Dead letters and
 * late events go to `onDeadLetter` / `onLate` (by default a warning on stderr), or fail the stream
 * with `failFast`. A pipeline of stateless stages only is fused, source included, into a single
 * operator with no per-event records or watermarks.
 *
 * @example
 * from(trips).pipe(compile(bigFares)).subscribe(console.log)
 */
export function compile<I, O, K>(p: Pipeline<I, O, K>, options: CompileOptions = {}): OperatorFunction<I, O> {
  const stages = statelessChain(p.output.node)
  if (stages !== undefined) return compileStateless(p, stages, options)
  return (input) =>
    new Observable<O>((subscriber) => {
      const ctx = makeContext(options)
      let pos = 0
      const slot = reusableRecord()
      // Stage subscribers on both sides: RxJS calls them directly, with no observer wrappers per value.
      const records = new Observable<Data<unknown>>((s) =>
        input.subscribe(stageSubscriber<I>(s, { next: (value) => s.next(slot.fill(value, Number.NaN, pos++)) })),
      )
      return records.pipe(compileElements(p, ctx, { watermarks: false })).subscribe(
        stageSubscriber<Element<O, K>>(subscriber, {
          next: (e) => {
            if (e._tag === 'Data') subscriber.next(e.value)
          },
        }),
      )
    })
}

function compileStateless<I, O>(
  p: Pipeline<I, O, unknown>,
  stages: readonly StatelessNode[],
  options: CompileOptions,
): OperatorFunction<I, O> {
  return (input) =>
    new Observable<O>((subscriber) => {
      const ctx = makeContext(options)
      // The same generated step as ingest, with no watermarks: without a codec or an event time,
      // values go straight into the chain.
      const end: Downstream = {
        data: (d) => subscriber.next(d.value as O),
        push: (v) => subscriber.next(v as O),
        watermark: () => undefined,
        ignoresWatermarks: true,
      }
      const step = ingestStep(p, ctx, freshIngestState(0), stages, end, subscriber, false).value
      let pos = 0
      return input.subscribe(stageSubscriber<I>(subscriber, { next: (value) => step(value, Number.NaN, pos++) }))
    })
}
