import type { Data } from '../../dsl/element.ts'
import type { Key } from '../../dsl/stream.ts'
import type { WindowSpec } from '../../dsl/windows.ts'
import { makeContext, type RunContext } from '../core/context.ts'
import type { Late } from '../../dsl/sides.ts'
import { windowMachine } from '../windows/interpret.ts'
import type { KeyState, WindowCore } from '../windows/WindowCore.ts'

/** One step the machine saw or produced, as text: `d<json>` results, `w<time>` watermarks, `l<pos>` late. */
export type Trace = string[]

/**
 * Drives a window machine directly (no RxJS), generating watermarks as `boundedOutOfOrder(d)` does:
 * after an event that raises the largest time seen, `W = max - d`. The generator state is explicit
 * so a run can be cut, checkpointed and resumed.
 */
export class Driver {
  maxSeen = Number.NEGATIVE_INFINITY
  wm = Number.NEGATIVE_INFINITY
  readonly trace: Trace = []
  readonly machine: WindowCore<KeyState>
  readonly ctx: RunContext

  constructor(spec: WindowSpec, readonly d: number) {
    this.ctx = makeContext({ onLate: (l: Late) => this.trace.push(`l${l.pos}`), onDeadLetter: (x) => this.trace.push(`x${x.pos}`) })
    this.machine = windowMachine(spec, this.ctx, (out) => this.trace.push(`d${JSON.stringify(out)}`))
  }

  event(key: Key, time: number, value: unknown, pos: number): void {
    const d: Data<unknown, Key> = { _tag: 'Data', value, time, key, pos }
    this.machine.data(d)
    if (time > this.maxSeen) {
      this.maxSeen = time
      this.advance(time - this.d)
    }
  }

  advance(w: number): void {
    if (w <= this.wm) return
    this.wm = w
    this.machine.watermark(w)
    this.trace.push(`w${w}`)
  }

  end(): void {
    this.advance(Number.POSITIVE_INFINITY)
  }
}
