/**
 * Entry point of the `weir` command (bin/weir.mjs loads it through tsx; `tsx cli/main.ts ...` works
 * too). All the logic is in ./weir.ts, which tests call directly.
 */
import { main } from './weir.ts'

process.exitCode = await main(process.argv.slice(2))
