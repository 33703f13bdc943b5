/**
 * weirjs/notebook: see results while prototyping (a script run with `npx tsx`): tables and Unicode
 * charts in the terminal, charts rendered offline to SVG or HTML, and the diff of two versions of a
 * pipeline over one log.
 */
export { show } from './show.ts'
export type { ShowOptions } from './show.ts'
export { formatTable, isoTime } from './table.ts'
export type { TableOptions } from './table.ts'
export { chart, drawChart, sparkline } from './chart.ts'
export type { ChartOptions, ChartSpec, ChartMark, DrawOptions, FieldType } from './chart.ts'
export { save, toSVG, MissingRendererError } from './render.ts'
export { report } from './report.ts'
export { reportOf } from './reportData.ts'
export type { ReportOptions, ReportData, WatermarkPoint, ThroughputPoint, TimedOutput } from './reportData.ts'
export { planDiagram } from './planDiagram.ts'
