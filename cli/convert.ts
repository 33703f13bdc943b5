import { resolve } from 'node:path'
import { isDeadLetter, readLog, writeLog } from '../harness/log.ts'
import { isFramedLogFile } from '../harness/framedLog.ts'
import { loadEncoding } from './encoding.ts'
import { UsageError, type ConvertCommand } from './args.ts'
import { sameFile } from './load.ts'
import { printable } from './output.ts'
import { existingLog } from './report.ts'
import type { CliIO } from './weir.ts'

/** How many of the input's dead letters are shown. */
const SHOWN = 3

/**
 * `weir convert`: rewrites a recorded log (NDJSON or binary, told by its first bytes) in another
 * encoding, record for record: offsets, arrivals and topics are kept. Records the input could not
 * give (corrupt frames, malformed lines) cannot be written; they are counted and the first few
 * shown, and the conversion goes on. Exit 1 when the input had no readable record at all.
 */
export async function convertCommand(cmd: ConvertCommand, io: CliIO): Promise<number> {
  const encoding = loadEncoding(cmd, io.cwd)
  const fromStdin = cmd.log === '-'
  const logPath = fromStdin ? '' : existingLog(cmd.log, io.cwd)
  const outPath = resolve(io.cwd, cmd.out)
  if (!fromStdin && sameFile(outPath, logPath)) throw new UsageError(`--out ${cmd.out} is the --log file; write the converted log elsewhere`)
  const w = writeLog(outPath, { encoding })
  let dead = 0
  const unit = !fromStdin && isFramedLogFile(logPath) ? 'record' : 'line'
  try {
    for await (const batch of readLog(fromStdin ? (io.stdin ?? process.stdin) : logPath)) {
      for (const e of batch) {
        if (isDeadLetter(e)) {
          if (++dead <= SHOWN) io.stderr.write(`weir: dead letter (${e.reason}) at ${unit} ${e.pos}: ${printable(e.message)}\n`)
          continue
        }
        if (!w.write(e)) await w.drained()
      }
    }
  } finally {
    await w.close()
  }
  if (dead > SHOWN) io.stderr.write(`weir: ... and ${(dead - SHOWN).toLocaleString('en-US')} more dead letters\n`)
  io.stderr.write(`weir: converted ${w.count.toLocaleString('en-US')} records to ${encoding.name} in ${cmd.out}${dead > 0 ? ` (${dead.toLocaleString('en-US')} unreadable, left out)` : ''}\n`)
  return w.count === 0 && dead > 0 ? 1 : 0
}
