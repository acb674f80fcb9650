/**
 * The sharpness parts of report.html, from sharpness.json (written by `lets sharpness`): for a run,
 * a table of λ_max, the trace and m-sharpness and the loss-landscape slice (a curve, or a heatmap
 * with contour-like bands for 2-D); for a comparison, sharpness against ρ with LETS's runs marked
 * at the ρ they learned. Pure data in, Vega-Lite spec or HTML out.
 */
import type { VlSpec } from './specs';

type Row = Readonly<Record<string, unknown>>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const W = 420;
const H = 240;
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const sig = (x: unknown, d = 4): string => (num(x) !== undefined ? (x as number).toPrecision(d) : '–');

/** L(w + α d) against α (1-D), the trained point α = 0 marked. */
export function landscape1dSpec(alphas: readonly number[], losses: readonly number[], title: string): VlSpec {
  const rows = alphas.map((a, i) => ({ alpha: a, loss: losses[i] })).filter((r) => num(r.loss) !== undefined);
  return {
    $schema: SCHEMA,
    title,
    width: W,
    height: H,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true, strokeWidth: 2, color: '#1f77b4' },
        encoding: {
          x: { field: 'alpha', type: 'quantitative', title: 'α (step along a filter-normalized random direction)' },
          y: { field: 'loss', type: 'quantitative', title: 'training loss (subset)', scale: { zero: false } },
        },
      },
      { data: { values: [{ alpha: 0 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#ff7f0e' }, encoding: { x: { field: 'alpha', type: 'quantitative' } } },
    ],
  };
}

/** L(w + α d₁ + β d₂) on the grid as a heatmap (log loss colour, so the basin's bands show). */
export function landscape2dSpec(alphas: readonly number[], betas: readonly number[], losses: readonly (readonly number[])[], title: string): VlSpec {
  const rows: Row[] = [];
  alphas.forEach((a, i) => betas.forEach((b, j) => {
    const l = num(losses[i]?.[j]);
    if (l !== undefined) rows.push({ alpha: a, beta: b, loss: l });
  }));
  return {
    $schema: SCHEMA,
    title,
    width: W,
    height: W,
    data: { values: rows },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'alpha', type: 'ordinal', title: 'α (direction 1)', axis: { format: '.2~f', labelAngle: 0 } },
      y: { field: 'beta', type: 'ordinal', title: 'β (direction 2)', sort: 'descending', axis: { format: '.2~f' } },
      color: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: 'log', scheme: 'viridis' } },
    },
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The run report's sharpness table rows: [measure, value, detail]. */
export function sharpnessTable(s: Row): string[][] {
  const rows: string[][] = [['loss on the subset', sig(s['loss']), `${String(s['subset'])} training examples, ${String(s['checkpoint'])}.ckpt (step ${String(s['step'] ?? '–')}), eval mode`]];
  const e = s['eigenvalues'] as Row | undefined;
  if (e) {
    const vals = (e['values'] as number[] | undefined) ?? [];
    rows.push(['λ_max (top Hessian eigenvalue' + (vals.length > 1 ? 's' : '') + ')', vals.map((v) => sig(v)).join(', '), `${String(e['method'])}, ${String(e['hvps'])} HVPs (${String(e['estimator'])})${e['converged'] === true ? '' : ', not converged'}`]);
  }
  const t = s['trace'] as Row | undefined;
  if (t) rows.push(['Hessian trace', `${sig(t['trace'])} ± ${sig(t['stderr'], 2)}`, `Hutchinson, ${String(t['samples'])} probes (${String(t['estimator'])})`]);
  const m = s['msharpness'] as { plain?: Row; adaptive?: Row } | undefined;
  if (m?.plain) rows.push(['m-sharpness', sig(m.plain['sharpness']), `ρ = ${String(m.plain['rho'])}, m = ${String(m.plain['m'])}, ${String(m.plain['steps'])} ascent step(s)`]);
  if (m?.adaptive) rows.push(['adaptive m-sharpness', sig(m.adaptive['sharpness']), `ρ = ${String(m.adaptive['rho'])} (ASAM's ball ‖ε/(|w|+0.01)‖ ≤ ρ), m = ${String(m.adaptive['m'])}`]);
  return rows;
}

/** The landscape plot of a run's sharpness.json, or undefined when it has none. */
export function landscapeSpecOf(s: Row): VlSpec | undefined {
  const l = s['landscape'] as Row | undefined;
  if (!l) return undefined;
  const alphas = (l['alphas'] as number[]) ?? [];
  if (l['dims'] === 2) return landscape2dSpec(alphas, (l['betas'] as number[]) ?? alphas, (l['losses'] as number[][]) ?? [], 'Loss landscape (2-D slice, filter-normalized directions)');
  return landscape1dSpec(alphas, (l['losses'] as number[]) ?? [], 'Loss landscape (1-D slice, filter-normalized direction)');
}

/** A small note under the run's sharpness table. */
export const sharpnessNote = (s: Row): string =>
  `<p class="sub">Measured by <code>lets sharpness</code> in ${sig(s['wallSeconds'], 3)} s on ${esc(String(s['backend']))}; see docs/sharpness.md for how to read these.</p>`;

/** One sharpness measure of a comparison's runs against ρ: fixed-ρ runs as lines, LETS at its learned ρ (diamonds, labelled), SGD as a dashed level. */
export function sharpnessVsRhoSpec(rows: readonly Row[], field: string, title: string, yTitle: string): VlSpec {
  const ok = rows.filter((r) => num(r[field]) !== undefined && r['error'] === undefined);
  const fixed = ok.filter((r) => r['learnsRho'] !== true && r['method'] !== 'sgd').map((r) => ({ method: r['method'], rho: r['rho'], value: r[field] }));
  const learned = ok.filter((r) => r['learnsRho'] === true).map((r) => ({ method: r['method'], rho: r['rho'], value: r[field], label: `${String(r['method'])}: learned ρ ${(r['rho'] as number).toPrecision(3)}` }));
  const sgd = ok.filter((r) => r['method'] === 'sgd').map((r) => ({ method: 'sgd', value: r[field] }));
  const x = { field: 'rho', type: 'quantitative', title: 'ρ (fixed, or learned by LETS)', scale: { type: 'log' } };
  const y = { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } };
  const color = { field: 'method', type: 'nominal' };
  const layer: Record<string, unknown>[] = [
    { data: { values: fixed }, mark: { type: 'line', point: true }, encoding: { x, y: { ...y, aggregate: 'mean' }, color } },
    { data: { values: fixed }, mark: { type: 'point', opacity: 0.5 }, encoding: { x, y, color } },
    { data: { values: learned }, mark: { type: 'point', shape: 'diamond', size: 160, filled: true }, encoding: { x, y, color } },
    { data: { values: learned }, mark: { type: 'text', align: 'left', dx: 8, dy: -8, fontSize: 10 }, encoding: { x, y, text: { field: 'label' } } },
  ];
  if (sgd.length > 0) layer.push({ data: { values: sgd }, mark: { type: 'rule', strokeDash: [6, 4] }, encoding: { y: { ...y, aggregate: 'mean' }, color } });
  return { $schema: SCHEMA, title, width: W, height: H, layer };
}

/** The comparison's sharpness plots (those with data). */
export function compareSharpnessSpecs(rows: readonly Row[]): { id: string; spec: VlSpec }[] {
  const all = [
    { id: 'sharp-lambda', field: 'lambdaMax', title: 'λ_max against ρ (LETS: at its learned ρ)', y: 'λ_max (top Hessian eigenvalue)' },
    { id: 'sharp-msharp', field: 'msharpness', title: 'm-sharpness against ρ (LETS: at its learned ρ)', y: 'm-sharpness' },
    { id: 'sharp-adaptive', field: 'adaptiveMsharpness', title: 'Adaptive m-sharpness against ρ', y: 'adaptive m-sharpness' },
    { id: 'sharp-trace', field: 'trace', title: 'Hessian trace against ρ', y: 'trace of the Hessian' },
  ];
  return all.filter((a) => rows.some((r) => num(r[a.field]) !== undefined)).map((a) => ({ id: a.id, spec: sharpnessVsRhoSpec(rows, a.field, a.title, a.y) }));
}

/** The comparison's sharpness table rows. */
export const compareSharpnessRows = (rows: readonly Row[]): string[][] =>
  rows.map((r) => [String(r['id']), String(r['method'] || '–'), r['method'] === 'sgd' ? '–' : sig(r['rho'], 3), sig(r['lambdaMax']), sig(r['trace']), sig(r['msharpness']), sig(r['adaptiveMsharpness']), r['error'] ? `failed: ${String(r['error']).slice(0, 80)}` : 'done']);
