import { afterAll, describe, expect, it } from 'vitest'
import { Observable, of } from 'rxjs'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from '../dsl/pipeline.ts'
import { record } from './record.ts'
import { replay } from './replay.ts'

const dir = mkdtempSync(join(tmpdir(), 'weir-record-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A fake wall clock returning the given times in turn. */
const ticks = (...ts: number[]) => {
  let i = 0
  return () => ts[Math.min(i++, ts.length - 1)]
}

describe('record', () => {
  it('writes an Observable as log lines stamped with the wall clock, offsets from 1', async () => {
    const path = join(dir, 'obs.ndjson')
    const r = await record(of({ page: '/' }, { page: '/a' }), path, { topic: 'clicks', now: ticks(1000, 1005) })
    expect(r.records).toBe(2)
    expect(readFileSync(path, 'utf8')).toBe(
      '{"offset":1,"arrival":1000,"topic":"clicks","event":{"page":"/"}}\n' +
        '{"offset":2,"arrival":1005,"topic":"clicks","event":{"page":"/a"}}\n',
    )
  })

  it('keeps arrivals non-decreasing when the wall clock steps back', async () => {
    const path = join(dir, 'back.ndjson')
    await record(of(1, 2, 3), path, { now: ticks(500, 400, 600) })
    const arrivals = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).arrival)
    expect(arrivals).toEqual([500, 500, 600])
  })

  it('records an async iterable, and replaying the recording gives back the events at their arrivals', async () => {
    const path = join(dir, 'iter.ndjson')
    async function* events() {
      for (let i = 0; i < 3000; i++) yield { i, text: 'event number ' + i }
    }
    let t = 10_000
    await record(events(), path, { now: () => (t += 2) })
    const { out, metrics } = await replay(pipeline({}, (s) => s), path)
    expect(metrics.eventsIn).toBe(3000)
    expect(out[2999]).toEqual({ i: 2999, text: 'event number 2999' })
  })

  it('keeps what was recorded and rejects with the error when the source fails', async () => {
    const path = join(dir, 'fail.ndjson')
    const failing = new Observable<number>((s) => {
      s.next(1)
      s.next(2)
      s.error(new Error('connection lost'))
    })
    await expect(record(failing, path, { now: ticks(1) })).rejects.toThrow('connection lost')
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2)
  })

  it('rejects an event JSON cannot hold', async () => {
    await expect(record(of(undefined), join(dir, 'undef.ndjson'))).rejects.toThrow(/event must not be undefined/)
  })
})

describe('record, failing on a synchronous source', () => {
  it('stops the source at the first event it cannot write', async () => {
    let emitted = 0
    const src = new Observable<unknown>((s) => {
      for (let i = 0; i < 5 && !s.closed; i++) {
        emitted++
        s.next(i === 1 ? undefined : i)
      }
      s.complete()
    })
    await expect(record(src, join(dir, 'sync.ndjson'), { now: ticks(1) })).rejects.toThrow(/event must not be undefined/)
    expect(emitted).toBe(2)
  })
})
