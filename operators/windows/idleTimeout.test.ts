import { describe, expect, it } from 'vitest'
import { pipe } from 'fp-ts/lib/function.js'
import { count } from '../../dsl/aggregations.ts'
import { pipeline } from '../../dsl/pipeline.ts'
import { keyBy } from '../../dsl/stages.ts'
import { boundedOutOfOrder, idleTimeout } from '../../dsl/watermarks.ts'
import { aggregate, tumbling, window, type WindowResult } from '../../dsl/windows.ts'
import { VirtualClock } from '../../harness/VirtualClock.ts'
import { replay } from '../../harness/replay.ts'

interface Click {
  readonly user: string
  readonly ts: number
}

// Two users click early; then the log is quiet for 100 s of processing time before user c clicks.
const log = [
  { offset: 1, arrival: 0, event: { user: 'a', ts: 0 } },
  { offset: 2, arrival: 1_000, event: { user: 'b', ts: 1_000 } },
  { offset: 3, arrival: 100_000, event: { user: 'c', ts: 100_000 } },
].map((r) => JSON.stringify(r))

const clicks = (idle: boolean) =>
  pipeline(
    { eventTime: (c: Click) => c.ts, watermark: idle ? [boundedOutOfOrder('1s'), idleTimeout('10s')] : boundedOutOfOrder('1s') },
    (s) =>
      pipe(
        s,
        keyBy((c: Click) => c.user),
        window(tumbling('5s')),
        aggregate(count),
      ),
  )

/** Replays the log on our own virtual clock and notes the processing time each result came out at. */
async function firedAt(idle: boolean): Promise<[string, number][]> {
  const clock = new VirtualClock(0)
  const seen: [string, number][] = []
  await replay(clicks(idle), log, { clock, onOutput: (r: WindowResult<string, number>) => seen.push([r.key, clock.now()]) })
  return seen
}

describe('idleTimeout under replay', () => {
  it("a quiet key's window closes without new events, in virtual time", async () => {
    // b's last event arrived at 1 s; after 10 s of quiet W = 11 s - 1 s = 10 s >= 5 s closes [0, 5 s).
    expect(await firedAt(true)).toEqual([
      ['a', 11_000],
      ['b', 11_000],
      ['c', 100_000],
    ])
  })

  it('without idleTimeout the same windows wait for the next event', async () => {
    expect((await firedAt(false)).slice(0, 2)).toEqual([
      ['a', 100_000],
      ['b', 100_000],
    ])
  })

  it('is deterministic: the same log gives the same results at the same virtual times', async () => {
    expect(await firedAt(true)).toEqual(await firedAt(true))
  })
})
