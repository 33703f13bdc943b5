import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isPipeline, type Pipeline } from '../dsl/pipeline.ts'
import { errorMessage } from '../dsl/sides.ts'
import { UsageError } from './args.ts'
import { isTypeScript, loadTypeScript } from './typescript.ts'

/** Imports a module and returns its default-exported pipeline, or throws a UsageError saying what is wrong. */
export async function loadPipeline(module: string, cwd: string): Promise<Pipeline<unknown, unknown, unknown>> {
  const path = resolve(cwd, module)
  if (!existsSync(path)) throw new UsageError(`no such pipeline module: ${module}`)
  if (isTypeScript(path)) await loadTypeScript(module)
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown }
  } catch (e) {
    throw new UsageError(`could not load ${module}: ${firstLines(errorMessage(e))}`)
  }
  if (!isPipeline(mod.default))
    throw new UsageError(`${module} does not default-export a pipeline (add: export default pipeline({ ... }, (s) => ...))`)
  return mod.default
}

/**
 * The first line of an error message, with the next one when the first only introduces it (a
 * TypeScript transform's "Transform failed with 1 error:" is followed by the file, line and error).
 */
const firstLines = (message: string): string => {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  return lines.length > 1 && lines[0].endsWith(':') ? `${lines[0]} ${lines[1]}` : (lines[0] ?? '')
}

/** True when both paths name one file (the same path, or links to one file). */
export const sameFile = (a: string, b: string): boolean => {
  if (a === b) return true
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}
