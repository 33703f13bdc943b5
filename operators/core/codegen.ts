/**
 * Generated code, in one place. A handful of weir's hot paths are written as source text and
 * compiled with `new Function`, once per pipeline or stage, never per event:
 *
 * - `ingest` (operators/core/ingest.ts): a source record's admission (codec, event time,
 *   watermark) and the stateless stages chained after the source;
 * - `fusedChain` (operators/core/fused.ts): stateless stages fused between two operators;
 * - `statelessLink` (operators/core/chained.ts): stateless stages chained between two links, in parts;
 * - `machineLink` (operators/core/chained.ts): a chained machine's link to the next one;
 * - `fanOut` (operators/core/chained.ts): where a chain forks into the branches of a merge or join;
 * - `junctionInput` (operators/joins/twoInputs.ts): a chained join's input, calling one side of its machine;
 * - `windowFastPath` (operators/windows/inOrderPush.ts): an in-order event into its key's current window;
 * - `recordAggregator` (operators/windows/aggregator.ts): a record of aggregations, one statement per field;
 * - `lineShape` (harness/lineShapes.ts): the parser of NDJSON lines of one learned shape, from their
 *   bytes (not user functions: one straight-line reader per shape instead of an interpreter's loop).
 *
 * Why: these paths call the user's functions (codec, event time, map, filter, keyBy, aggregation
 * steps) and the next stage. Written once and shared, each such call site sees the functions of
 * every pipeline in the process and turns megamorphic, so V8 stops inlining them and every event
 * pays an indirect call per stage. Code of its own per pipeline gives each call site one target.
 * Measured (node 22, 8 pipelines of map → filter → map → keyBy, 2M values each, on a busy 2-core
 * machine): a shared interpreter 31 M values/s, the generated chains 50 M values/s (0.61 of the
 * time); `npm run bench` keeps the windows and the core chain within a small factor of a hand-written
 * loop over the same data.
 *
 * Each generated function ends with `//# sourceURL=weir:<name>`, so stack traces and profiles name
 * it. Each generator has a test holding it equal to a general path: `codegen.test.ts` for ingest,
 * the fused chain, the stateless link and the record aggregator (each against its semantics written
 * plainly), `chained.test.ts` for the machine link, the fan-out and the junction inputs (chained
 * joins and merges against the same stages as operators of their own), `inOrderPush.test.ts`
 * for the window fast path, and `lineShapes.test.ts` and property-tests/lineShapes.prop.ts for the
 * line parser (against `JSON.parse`).
 */

/**
 * Compiles `body` as a function of `params` named `weir:<name>` in stack traces. Callers pass only
 * identifiers and code they generated themselves; user values go in as arguments, never as text.
 */
export function generate(name: string, params: readonly string[], body: string): (...args: any[]) => any {
  return new Function(...params, `${body}\n//# sourceURL=weir:${name}`) as (...args: any[]) => any
}
