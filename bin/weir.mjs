#!/usr/bin/env node
// The `weir` command: registers tsx so that the CLI and the user's pipeline modules can be
// TypeScript, then runs cli/main.ts.
import { register } from 'tsx/esm/api'

register()
await import(new URL('../cli/main.ts', import.meta.url).href)
