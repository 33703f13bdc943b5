/**
 * Renders Vega-Lite specs offline: vega and vega-lite (optional peers of weirjs) compile and draw
 * them to SVG in Node, loaded on first use. Nothing is fetched: the HTML embeds the SVG itself.
 */
import { writeFile } from 'node:fs/promises'
import { extname } from 'node:path'
import type { ChartSpec } from './chart.ts'

/** The parts of vega and vega-lite used here (their own types stay out of weirjs's declarations). */
interface VegaModules {
  readonly vega: {
    parse(spec: unknown): unknown
    View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void }
  }
  readonly vegaLite: { compile(spec: unknown): { spec: unknown } }
}

let loaded: Promise<VegaModules> | undefined

/** Thrown when vega or vega-lite is not installed: its message is one line saying how to install them. */
export class MissingRendererError extends Error {
  override readonly name = 'MissingRendererError'
}

const loadVega = (): Promise<VegaModules> =>
  (loaded ??= Promise.all([import('vega'), import('vega-lite')]).then(
    ([vega, vegaLite]) => ({ vega, vegaLite }) as unknown as VegaModules,
    (e: NodeJS.ErrnoException) => {
      loaded = undefined
      if (e?.code === 'ERR_MODULE_NOT_FOUND' && /'vega(-lite)?'/.test(e.message))
        throw new MissingRendererError('rendering charts needs the vega and vega-lite packages, which are not installed (npm install vega vega-lite)')
      throw e
    },
  ))

/**
 * A Vega-Lite spec drawn as an SVG document, offline. Rejects with a `MissingRendererError` when
 * vega or vega-lite is not installed.
 *
 * @example
 * const svg = await toSVG(chart(out, { x: 'window.start', y: 'value.n', color: 'key' }))
 */
export async function toSVG(spec: ChartSpec | object): Promise<string> {
  const { vega, vegaLite } = await loadVega()
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/**
 * Renders a chart to a file, by its extension: `.svg` an SVG document, `.html` a page holding that
 * SVG (it opens anywhere, offline: no script, no CDN). Resolves to the path written.
 *
 * @example
 * await save(chart(out, { x: 'window.start', y: 'value.n', color: 'key' }), 'weekly.html')
 */
export async function save(spec: ChartSpec | object, path: string): Promise<string> {
  const ext = extname(path).toLowerCase()
  if (ext !== '.svg' && ext !== '.html' && ext !== '.htm') throw new TypeError(`save: the file must end in .svg or .html, got '${path}'`)
  const svg = await toSVG(spec)
  const title = escapeHtml(typeof (spec as { title?: unknown }).title === 'string' ? (spec as { title: string }).title : 'weir chart')
  const text = ext === '.svg' ? svg : `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>\n<body style="margin:16px;font-family:system-ui,sans-serif">\n${svg}\n</body></html>\n`
  await writeFile(path, text)
  return path
}

/** Text made safe inside HTML. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
