/**
 * Entry point of the `weir` command: bin/weir.mjs loads it from dist/ when installed, and through tsx
 * in a checkout (as `npm start` does). All the logic is in ./weir.ts, which tests call directly.
 */
import { main } from './weir.ts'

// `weir run ... | head`: once the reader has gone, there is no one left to tell; end quietly, as
// Unix tools do, instead of with an unhandled EPIPE and its stack.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

process.exitCode = await main(process.argv.slice(2))
