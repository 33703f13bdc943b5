#!/usr/bin/env node
// The `weir` command. Installed from the package, it runs the compiled CLI in dist/, which loads
// tsx only for a TypeScript pipeline module. In a checkout of the repository (the sources beside
// this file), it runs the TypeScript sources through tsx, and resolves `weirjs` imports to them too
// (the `weir-source` export condition), so that working on weir needs no build.
import { existsSync } from 'node:fs'
import { register as registerHooks } from 'node:module'

const sources = new URL('../cli/main.ts', import.meta.url)
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api')
  const { register: registerCjs } = await import('tsx/cjs/api')
  // Both loaders: a pipeline module in a package without "type": "module" is loaded as CommonJS.
  register()
  registerCjs()
  const withSourceCondition =
    'export const resolve = (specifier, context, next) => ' +
    "next(specifier, { ...context, conditions: [...context.conditions, 'weir-source'] })"
  registerHooks('data:text/javascript,' + encodeURIComponent(withSourceCondition))
  await import(sources.href)
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href)
}
