import type { Key } from '../../dsl/stream.ts'
import { foldStatements, type CompiledAggregator } from './aggregator.ts'
import { generate } from '../core/codegen.ts'

/** What a window stage does with one event: the machine's `push`. */
export type Push = (value: unknown, time: number, key: Key, pos: number) => void

/** The general path, given the key's state when the caller has already looked it up. */
export type Slow = (value: unknown, time: number, key: Key, pos: number, ks?: unknown) => void

/** The window an in-order event of a key goes to, as the fast path reads it. */
interface Current {
  readonly cur: { start: number; end: number; acc: unknown; pos: number } | undefined
}

/**
 * The in-order path of one window stage, generated as code of its own (see codegen.ts): an event
 * inside the window its key's previous event went to, which is still open and not yet due, is folded
 * straight in. That is the common case (events mostly arrive in order) and the whole of its work is a
 * Map lookup, three comparisons and the aggregation, with every call site seeing one target: the
 * user's functions are called from this stage's own code, so they inline even when a process runs
 * many pipelines, whose aggregators would make a shared call site megamorphic.
 *
 * Anything else (a new key or window, a window that is due, a late event) goes to `slow`, the
 * machine's general path. For the events it takes, this path does exactly what `slow` would do,
 * minus the checks that cannot fire there (a property test holds them to it). `extend` grows the
 * window's end to `time + extend` (sessions; 0 for tumbling windows).
 */
export function inOrderPush(
  keys: Map<Key, Current>,
  core: { readonly W: number },
  agg: CompiledAggregator,
  extend: number,
  slow: Slow,
  fail: (e: unknown, value: unknown, pos: number) => void,
): Push {
  const fields = agg.fields
  const idx = [...fields.keys()]
  const read = idx.filter((i) => fields[i].input !== undefined).map((i) => `x${i} = i${i}(value);`)
  const fold = agg.single ? 'w.acc = s0(w.acc, x0);' : foldStatements(fields)
  const body = `
    return function push(value, time, key, pos) {
      const ks = keys.get(key)
      if (ks !== undefined) {
        const w = ks.cur
        if (w !== undefined && time >= w.start && time < w.end && w.end > core.W) {
          let ${idx.map((i) => `x${i}`).join(', ')}
          try { ${read.join(' ')} } catch (e) { fail(e, value, pos); return }
          ${agg.single ? '' : 'const acc = w.acc'}
          try { ${fold} } catch (e) { fail(e, value, pos); return }
          ${extend > 0 ? `if (time + ${extend} > w.end) w.end = time + ${extend}` : ''}
          w.pos = pos
          return
        }
      }
      slow(value, time, key, pos, ks)
    }`
  const params = ['keys', 'core', 'slow', 'fail', ...idx.flatMap((i) => [`i${i}`, `s${i}`])]
  const args = [keys, core, slow, fail, ...fields.flatMap((f) => [f.input, f.step])]
  return generate('windowFastPath', params, body)(...args) as Push
}
