/**
 * Vega-Lite → Vega → SVG, headless in Node: vega's 'none' renderer plus `toSVG()` needs no
 * canvas (text widths are estimated), so the report needs no browser and no native module.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VlSpec } from './specs';

/** Renders one Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const vgSpec = compile(spec as any).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
