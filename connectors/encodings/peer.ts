import { createRequire } from 'node:module'

/** An optional peer package a feature needs is not installed: the message says which and how to get it. */
export class MissingPeerError extends Error {
  override readonly name = 'MissingPeerError'
}

const require = createRequire(import.meta.url)

/**
 * Loads an optional peer dependency synchronously (avsc and msgpackr are CommonJS-compatible), so
 * that `avro(schema)` can return its encoding at once. Only the peer itself missing is a
 * `MissingPeerError`; a failure inside an installed peer is rethrown as it is.
 */
export function requirePeer<M>(name: string, neededFor: string): M {
  try {
    return require(name) as M
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err?.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${name}'`))
      throw new MissingPeerError(`${neededFor} needs the ${name} package, which is not installed (npm install ${name})`)
    throw e
  }
}
