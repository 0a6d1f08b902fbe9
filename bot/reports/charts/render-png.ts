/**
 * Vega-Lite -> Vega -> SVG -> PNG, without a browser: Vega draws the scene headless ("none"
 * renderer, SVG string), resvg rasterises it. resvg loads only the Inter font shipped in
 * @expo-google-fonts/inter (SIL Open Font License 1.1), never the system's, so a chart comes out the
 * same on a laptop, in CI and in a slim Docker image that has no fonts at all.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CHART_FONT_FAMILY } from './vega-lite-spec.js';

/** Pixels per CSS pixel: sharp on high-density screens, where Slack shows most images. */
export const PNG_SCALE = 2;

const require = createRequire(import.meta.url);
export const CHART_FONT_FILE = join(dirname(require.resolve('@expo-google-fonts/inter/package.json')), '400Regular', 'Inter_400Regular.ttf');

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * On libuv's thread pool, not the event loop: the bot acks Slack on that loop, and a report's
 * charts are drawn meanwhile (Vega's next chart on the loop while resvg fills this one).
 */
export async function rasterise(svg: string): Promise<{ png: Buffer; width: number; height: number }> {
  const rendered = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: { fontFiles: [CHART_FONT_FILE], loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY },
  });
  return { png: rendered.asPng(), width: rendered.width, height: rendered.height };
}
