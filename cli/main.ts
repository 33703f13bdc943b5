/**
 * Entry point of the `weir` command (bin/weir.mjs loads it through tsx; `tsx cli/main.ts ...` works
 * too). All the logic is in ./weir.ts, which tests call directly.
 */
import { main } from './weir.ts'

// `weir run ... | head`: once the reader has gone, there is no one left to tell; end quietly, as
// Unix tools do, instead of with an unhandled EPIPE and its stack.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

process.exitCode = await main(process.argv.slice(2))
