import { UsageError } from './usageError.ts'

/**
 * Imports an optional peer dependency of weirjs (ioredis for `--redis`, tsx for a TypeScript
 * pipeline module). When the package is not installed, a UsageError says which feature needs it
 * and how to install it, instead of Node's ERR_MODULE_NOT_FOUND with its stack.
 *
 * @example
 * const { Redis } = await importPeer('ioredis', () => import('ioredis'), '--redis')
 */
export async function importPeer<M>(name: string, load: () => Promise<M>, neededFor: string): Promise<M> {
  try {
    return await load()
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    // Only the peer itself missing: a missing module inside an installed peer is a real failure.
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(`'${name}'`))
      throw new UsageError(`${neededFor} needs the ${name} package, which is not installed (npm install ${name})`)
    throw e
  }
}
