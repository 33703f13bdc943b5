#!/usr/bin/env node
// The `weir` command: registers tsx so that the CLI and the user's pipeline modules can be
// TypeScript, then runs cli/main.ts.
import { register } from 'tsx/esm/api'
import { register as registerCjs } from 'tsx/cjs/api'

// Both loaders: a pipeline module in a package without "type": "module" is loaded as CommonJS.
register()
registerCjs()
await import(new URL('../cli/main.ts', import.meta.url).href)
