import { describe, expect, it } from 'vitest'
import { sessionFailure } from './failures.ts'

/** An error as pg gives a server's: severity, SQL state, message. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { severity: 'ERROR', code })

describe('sessionFailure', () => {
  it('a server shutting down or restarting is worth reconnecting to', () => {
    expect(sessionFailure(serverError('57P01', 'terminating connection due to administrator command'), 's', 'p').kind).toBe('lost')
    expect(sessionFailure(serverError('57P03', 'the database system is shutting down'), 's', 'p').kind).toBe('lost')
    expect(sessionFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 's', 'p').kind).toBe('lost')
  })

  it('a session that connected just as the server began to shut down is worth reconnecting to, whatever SQL state the version gives', () => {
    const text = 'cannot execute new commands while WAL sender is in stopping mode'
    expect(sessionFailure(serverError('XX000', text), 's', 'p')).toEqual({ kind: 'lost', message: text })
    expect(sessionFailure(serverError('55000', text), 's', 'p')).toEqual({ kind: 'lost', message: text })
  })

  it('what retrying cannot mend is fatal, with one line naming the slot', () => {
    const missing = sessionFailure(serverError('42704', 'replication slot "s" does not exist'), 's', 'p')
    expect(missing.kind).toBe('fatal')
    expect(missing.message).toMatch(/^pgChanges \(slot "s"\): the replication slot does not exist/)
    expect(sessionFailure(serverError('55000', 'cannot read from logical replication slot "s"'), 's', 'p').kind).toBe('fatal')
    expect(sessionFailure(serverError('XX000', 'something else went wrong'), 's', 'p').kind).toBe('fatal')
  })

  it('a slot held by another session is busy', () => {
    expect(sessionFailure(serverError('55006', 'replication slot "s" is active for PID 42'), 's', 'p')).toEqual({
      kind: 'busy',
      message: 'pgChanges (slot "s"): the slot is in use by another consumer (PID 42): stop that consumer, or give this source a slot of its own',
    })
  })
})
