import { existsSync, statSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { errorMessage } from '../dsl/sides.ts'
import { report } from '../notebook/report.ts'
import { MissingRendererError } from '../notebook/render.ts'
import { UsageError, type ReportCommand } from './args.ts'
import { loadPipeline, sameFile } from './load.ts'
import type { CliIO } from './weir.ts'

/**
 * `weir report`: replays the log and writes the run's HTML page (see `report`). A missing vega or
 * vega-lite is a usage mistake, said in one line, like any missing optional peer.
 */
export async function reportCommand(cmd: ReportCommand, io: CliIO): Promise<number> {
  const p = await loadPipeline(cmd.module, io.cwd)
  const logPath = existingLog(cmd.log, io.cwd)
  const outPath = resolve(io.cwd, cmd.out)
  if (sameFile(outPath, logPath)) throw new UsageError(`--out ${cmd.out} is the --log file; write the report elsewhere`)
  let html: string
  try {
    html = await report(p, logPath, { topic: cmd.topic, source: cmd.log })
  } catch (e) {
    if (e instanceof MissingRendererError) throw new UsageError(`report: ${e.message}`)
    throw e
  }
  try {
    writeFileSync(outPath, html)
  } catch (e) {
    throw new UsageError(`cannot write --out ${cmd.out}: ${errorMessage(e)}`)
  }
  io.stderr.write(`weir: wrote ${cmd.out} (${Math.round(html.length / 1024).toLocaleString('en-US')} KiB)\n`)
  return 0
}

/** The log's full path, or a UsageError when there is no such file. */
export function existingLog(log: string, cwd: string): string {
  const path = resolve(cwd, log)
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`no such log file: ${log}`)
  return path
}
