/**
 * `report.html` of a run or a comparison: one self-contained page (inline SVG plots drawn by
 * Vega-Lite, inline CSS, no scripts, no external resources), rebuilt from the files of the
 * run directory alone, so `lets report RUN_DIR` gives the same page as the run itself.
 */
import * as E from 'fp-ts/Either';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readJson, readJsonLines, writeRunFile } from '../files';
import { renderSvg } from './render';
import { accuracyVsRhoSpec, CompareRow, curveSpec, gapSpec, rhoSpec, runsCurveSpec, VlSpec } from './specs';
import { compareSharpnessRows, compareSharpnessSpecs, landscapeSpecOf, sharpnessNote, sharpnessTable } from './sharpness';

type Row = Readonly<Record<string, unknown>>;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: unknown): string => (typeof x === 'number' ? `${(100 * x).toFixed(2)}%` : '–');
const fix = (x: unknown, d = 4): string => (typeof x === 'number' ? x.toFixed(d) : '–');
const sig = (x: unknown): string => (typeof x === 'number' ? x.toPrecision(3) : '–');

const CSS = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.sub{color:#666;margin-bottom:16px}
.plots{display:flex;flex-wrap:wrap;gap:16px}
.plot{border:1px solid #e3e3e3;border-radius:6px;padding:8px;background:#fff}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f5f5f5} td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:8px;border-radius:4px;font-size:12px;overflow:auto}
`;

function page(title: string, sub: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head>
<body><h1>${esc(title)}</h1><div class="sub">${esc(sub)}</div>
${body}
<p class="sub">Plots drawn with Vega-Lite (SVG). Rebuild with <code>lets report DIR</code>.</p>
</body></html>
`;
}

async function plots(specs: readonly { id: string; spec: VlSpec }[]): Promise<string> {
  const svgs = await Promise.all(specs.map(async (s) => `<div class="plot" id="${s.id}">${await renderSvg(s.spec)}</div>`));
  return `<div class="plots">${svgs.join('\n')}</div>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const orThrow = <A>(e: E.Either<string, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left);
  return e.right;
};

/** The run's sharpness (sharpness.json of `lets sharpness`): a table and the landscape slice; nothing when absent. */
async function runSharpnessSection(dir: string): Promise<string[]> {
  const file = join(dir, 'sharpness.json');
  if (!existsSync(file)) return [];
  const s = orThrow(readJson(file)) as Row;
  const spec = landscapeSpecOf(s);
  return ['<h2>Sharpness</h2>', table(['measure', 'value', 'how'], sharpnessTable(s)), sharpnessNote(s), ...(spec ? [await plots([{ id: 'landscape', spec }])] : [])];
}

/** The comparison's sharpness (sharpness.json of `lets compare --sharpness`) against ρ; nothing when absent. */
async function compareSharpnessSection(dir: string): Promise<string[]> {
  const file = join(dir, 'sharpness.json');
  if (!existsSync(file)) return [];
  const rows = ((orThrow(readJson(file)) as Row)['runs'] as Row[] | undefined) ?? [];
  return [
    '<h2>Sharpness against ρ</h2>',
    await plots(compareSharpnessSpecs(rows)),
    table(['run', 'method', 'ρ (learned for LETS)', 'λ_max', 'trace', 'm-sharpness', 'adaptive m-sharpness', 'status'], compareSharpnessRows(rows)),
  ];
}

async function runReport(dir: string): Promise<string> {
  const config = orThrow(readJson(join(dir, 'config.json'))) as Row;
  const metrics = orThrow(readJsonLines(join(dir, 'metrics.jsonl')));
  const summary = existsSync(join(dir, 'summary.json')) ? (orThrow(readJson(join(dir, 'summary.json'))) as Row) : undefined;
  const steps = metrics.filter((r) => r['type'] === 'step');
  const epochs = metrics.filter((r) => r['type'] === 'epoch');
  // Under label noise with noisy validation labels (the default) the validation figures are on
  // those labels; the clean-label ones (an oracle) are shown beside them.
  const noisyVal = summary?.['valLabels'] === 'noisy' || epochs.some((e) => e['valCleanAccuracy'] !== undefined);
  const valHead = noisyVal ? ['val acc (noisy labels)', 'val acc (clean labels)'] : ['val acc'];
  const valCells = (r: Row): string[] => (noisyVal ? [pct(r['valAccuracy']), pct(r['valCleanAccuracy'])] : [pct(r['valAccuracy'])]);
  const body = [
    '<h2>Summary</h2>',
    summary
      ? table(
          ['method', 'test acc', ...valHead, 'train acc', 'test − train loss', 'ρ₀', 'final ρ', 'epochs', 'wall s', 'backend'],
          [[String(summary['method']), pct(summary['testAccuracy']), ...valCells(summary), pct(summary['trainAccuracy']), fix(summary['gap']), sig(summary['rho0']), sig(summary['finalRho']), String(summary['epochs']), fix(summary['wallSeconds'], 1), String(summary['backend'])]],
        )
      : '<p>The run has not finished (no summary.json); plots show what is logged so far.</p>',
    '<h2>Plots</h2>',
    await plots([
      { id: 'loss', spec: curveSpec('Loss', 'Loss', steps, epochs) },
      { id: 'accuracy', spec: curveSpec('Accuracy', 'Accuracy', steps, epochs) },
      { id: 'rho', spec: rhoSpec(steps) },
      { id: 'gap', spec: gapSpec(steps, epochs) },
    ]),
    ...(await runSharpnessSection(dir)),
    '<h2>Epochs</h2>',
    table(
      ['epoch', 'step', 'train loss', 'train acc', noisyVal ? 'val loss (noisy labels)' : 'val loss', ...valHead, 'test loss', 'test acc', 'gap', 'ρ', 'wall s'],
      epochs.map((e) => [String(e['epoch']), String(e['step']), fix(e['trainLoss']), pct(e['trainAccuracy']), fix(e['valLoss']), ...valCells(e), fix(e['testLoss']), pct(e['testAccuracy']), fix(e['gap']), sig(e['rho']), fix(e['wallSeconds'], 1)]),
    ),
    '<h2>Configuration</h2>',
    `<pre>${esc(JSON.stringify(config, null, 2))}</pre>`,
  ].join('\n');
  return page(`lets train — ${String(config['method'])} on ${String(config['dataset'])} / ${String(config['model'])}`, basename(dir), body);
}

async function compareReport(dir: string): Promise<string> {
  const cmp = orThrow(readJson(join(dir, 'compare.json'))) as Row;
  const runs = (cmp['runs'] as Row[]) ?? [];
  const tableRows = (cmp['table'] as Row[]) ?? [];
  const done = runs.filter((r) => r['summary'] !== undefined && r['summary'] !== null);
  const rows: CompareRow[] = done.map((r) => {
    const s = r['summary'] as Row;
    return { method: String(r['method']), rho0: r['rho0'] as number, seed: r['seed'] as number, finalRho: s['finalRho'] as number, testAccuracy: s['testAccuracy'] as number, learnsRho: r['learnsRho'] === true };
  });
  const epochRows: Row[] = [];
  const stepRows: Row[] = [];
  for (const r of runs) {
    const m = readJsonLines(join(dir, 'runs', String(r['id']), 'metrics.jsonl'));
    if (E.isLeft(m)) continue;
    for (const x of m.right) {
      if (x['type'] === 'epoch') epochRows.push({ ...x, run: r['id'] });
      else if (x['type'] === 'step' && r['learnsRho'] === true) stepRows.push({ ...x, run: r['id'] });
    }
  }
  const specs: { id: string; spec: VlSpec }[] = [
    { id: 'acc-vs-rho', spec: accuracyVsRhoSpec(rows) },
    { id: 'test-acc', spec: runsCurveSpec('Test accuracy per run', 'test accuracy', epochRows, 'testAccuracy') },
    { id: 'test-loss', spec: runsCurveSpec('Test loss per run', 'test loss', epochRows, 'testLoss') },
    { id: 'gap', spec: runsCurveSpec('Generalization gap (test − train loss) per run', 'loss gap', epochRows, 'gap') },
  ];
  if (stepRows.length > 0) specs.push({ id: 'rho', spec: runsCurveSpec('Learned ρ over training (LETS runs)', 'ρ', stepRows.map((s) => ({ ...s })), 'rho') });
  const body = [
    '<h2>Results (mean ± std over seeds)</h2>',
    table(
      ['method', 'ρ / ρ₀', 'seeds', 'test accuracy', 'final ρ', 'test − train loss', 'wall s'],
      tableRows.map((t) => [String(t['method']), sig(t['rho0']), String(t['n']), `${pct(t['testAccuracyMean'])} ± ${pct(t['testAccuracyStd'])}`, sig(t['finalRhoMean']), fix(t['gapMean']), fix(t['wallSecondsMean'], 1)]),
    ),
    '<h2>Plots</h2>',
    await plots(specs),
    ...(await compareSharpnessSection(dir)),
    '<h2>Runs</h2>',
    table(
      ['run', 'method', 'ρ₀', 'seed', 'test acc', 'final ρ', 'wall s', 'status'],
      runs.map((r) => {
        const s = (r['summary'] as Row | null | undefined) ?? {};
        return [String(r['id']), String(r['method']), sig(r['rho0']), String(r['seed']), pct(s['testAccuracy']), sig(s['finalRho']), fix(s['wallSeconds'], 1), r['error'] ? `failed: ${String(r['error']).slice(0, 80)}` : 'done'];
      }),
    ),
    '<h2>Configuration</h2>',
    `<pre>${esc(JSON.stringify(cmp['options'] ?? {}, null, 2))}</pre>`,
  ].join('\n');
  return page('lets compare', basename(dir), body);
}

/** (Re)builds DIR/report.html from the files in DIR; returns its path. */
export async function buildReport(dir: string): Promise<string> {
  const isCompare = existsSync(join(dir, 'compare.json'));
  if (!isCompare && !existsSync(join(dir, 'config.json'))) {
    throw new Error(`${dir}: not a run or comparison directory (no config.json or compare.json)`);
  }
  const html = isCompare ? await compareReport(dir) : await runReport(dir);
  const file = join(dir, 'report.html');
  writeRunFile(file, html);
  return file;
}
