import { importPeer } from './peers.ts'

let registered: Promise<void> | undefined

/**
 * Makes `import()` load TypeScript modules, for a pipeline module given as a `.ts` file. The
 * compiled CLI registers tsx (an optional peer of weirjs) on first use, and a missing tsx is one
 * line saying so; a `.js` pipeline never loads it. Run from its own TypeScript sources (tsx, vitest),
 * the CLI has a loader already.
 */
export function loadTypeScript(module: string): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve()
  return (registered ??= register(module))
}

async function register(module: string): Promise<void> {
  const neededFor = `loading a TypeScript pipeline module (${module})`
  const esm = await importPeer('tsx', () => import('tsx/esm/api'), neededFor)
  const cjs = await importPeer('tsx', () => import('tsx/cjs/api'), neededFor)
  // Both: a .ts module in a package without "type": "module" is loaded as CommonJS.
  esm.register()
  cjs.register()
}

/** True for the file extensions tsx loads and Node does not. */
export const isTypeScript = (path: string): boolean => /\.[cm]?tsx?$/.test(path)
