import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { buildReport } from './build';
import { tempDir } from '../test-util';

/** A run directory by hand, with the sharpness.json `lets sharpness` writes (1-D or 2-D slice). */
function fakeRun(dir: string, method: string, rho: number, dims: 1 | 2): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ method, dataset: 'mnist', model: 'cnn', rho, seed: 0 }));
  const steps = [1, 2, 3, 4, 5].map((t) => JSON.stringify({ type: 'step', step: t, epoch: t / 5, loss: 1 / t, accuracy: 1 - 0.2 / t, rho, gap: 0.01 * t }));
  const epoch = JSON.stringify({ type: 'epoch', step: 5, epoch: 1, trainLoss: 0.3, trainAccuracy: 0.98, valLoss: 0.33, valAccuracy: 0.97, testLoss: 0.35, testAccuracy: 0.97, gap: 0.05, valGap: 0.03, rho, wallSeconds: 9 });
  writeFileSync(join(dir, 'metrics.jsonl'), `${[...steps, epoch].join('\n')}\n`);
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ method, rho0: rho, finalRho: method.startsWith('lets-') ? 2 * rho : rho, testAccuracy: 0.97, epochs: 1, wallSeconds: 9, backend: 'cpu' }));
  const alphas = Array.from({ length: 21 }, (_, i) => -1 + i / 10);
  const f = (a: number, b = 0): number => 0.05 + 0.8 * a * a + 0.4 * b * b + 0.1 * a * a * a;
  const landscape = dims === 1 ? { dims, alphas, losses: alphas.map((a) => f(a)), center: 0.05 } : { dims, alphas, betas: alphas, losses: alphas.map((a) => alphas.map((b) => f(a, b))), center: 0.05 };
  writeFileSync(
    join(dir, 'sharpness.json'),
    JSON.stringify({
      command: 'sharpness', version: 1, checkpoint: 'best', step: 5, epoch: 1, method, rho, learnsRho: method.startsWith('lets-'), subset: 1000, loss: 0.05, backend: 'cpu', wallSeconds: 12.5,
      eigenvalues: { values: [3.25], residuals: [0.001], converged: true, method: 'lanczos', hvps: 9, estimator: 'exact' },
      trace: { trace: 41.5, stderr: 2.1, samples: 20, estimator: 'exact' },
      msharpness: { plain: { sharpness: 0.0123, rho: 0.05, m: 128, steps: 1 }, adaptive: { sharpness: 0.0456, rho: 0.5, m: 128, steps: 1 } },
      landscape,
    }),
  );
}

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const withChromium = chromium === undefined ? it.skip : it;

/** Opens a page in headless Chromium; returns its console errors and the screenshot. */
async function screenshot(page: string): Promise<{ errors: string[]; png: PNG }> {
  const shot = join(tempDir(), 'shot.png');
  const { stderr } = await new Promise<{ stderr: string }>((resolveRun, reject) => {
    execFile(
      chromium as string,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${tempDir('lets-chromium-')}`, '--enable-logging=stderr', '--v=0', '--hide-scrollbars', '--window-size=1400,2400', `--screenshot=${shot}`, `file://${page}`],
      { timeout: 100_000 },
      (err, _out, errText) => (err && !existsSync(shot) ? reject(err) : resolveRun({ stderr: errText })),
    );
  });
  return { errors: stderr.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/.test(l)), png: PNG.sync.read(readFileSync(shot)) };
}

/** Pixels near a colour. */
const countNear = (png: PNG, rgb: readonly [number, number, number]): number => {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs((png.data[i] as number) - rgb[0]) + Math.abs((png.data[i + 1] as number) - rgb[1]) + Math.abs((png.data[i + 2] as number) - rgb[2]) < 60) n++;
  }
  return n;
};

describe('report.html with sharpness', () => {
  it("of a run: the sharpness table and the landscape (a curve for 1-D, a heatmap for 2-D)", async () => {
    const one = join(tempDir(), 'run1');
    fakeRun(one, 'sam', 0.05, 1);
    const html = readFileSync(await buildReport(one), 'utf8');
    expect(html).toContain('<h2>Sharpness</h2>');
    expect(html).toMatch(/<div class="plot" id="landscape"><svg/);
    for (const text of ['3.250', '41.50 ± 2.1', '0.01230', '0.04560', 'lanczos, 9 HVPs (exact)']) expect(html).toContain(text);
    const two = join(tempDir(), 'run2');
    fakeRun(two, 'sam', 0.05, 2);
    const html2 = readFileSync(await buildReport(two), 'utf8');
    // 21 × 21 cells of the heatmap.
    expect((html2.match(/aria-roledescription="rect mark"/g) ?? []).length).toBe(21 * 21);
  });

  it('without sharpness.json: no sharpness section (reports of runs never measured are unchanged)', async () => {
    const dir = join(tempDir(), 'run');
    fakeRun(dir, 'sam', 0.05, 1);
    require('node:fs').rmSync(join(dir, 'sharpness.json'));
    expect(readFileSync(await buildReport(dir), 'utf8')).not.toContain('Sharpness');
  });

  withChromium(
    'opens in headless Chromium without console errors, the landscape curve and the sharpness-against-ρ plots drawn',
    async () => {
      const run = join(tempDir(), 'run');
      fakeRun(run, 'lets-sam', 0.05, 1);
      const a = await screenshot(await buildReport(run));
      expect(a.errors).toEqual([]);
      // The slice is a #1f77b4 line with points, the trained point an orange (#ff7f0e) rule.
      expect(countNear(a.png, [0x1f, 0x77, 0xb4])).toBeGreaterThan(300);
      expect(countNear(a.png, [0xff, 0x7f, 0x0e])).toBeGreaterThan(50);

      const cmp = join(tempDir(), 'cmp');
      const runs = [
        { id: 'sam-rho0.02-seed0', method: 'sam', rho: 0.02, lambdaMax: 5.1, msharpness: 0.02, adaptiveMsharpness: 0.06, trace: 60 },
        { id: 'sam-rho0.05-seed0', method: 'sam', rho: 0.05, lambdaMax: 3.9, msharpness: 0.015, adaptiveMsharpness: 0.05, trace: 50 },
        { id: 'sam-rho0.1-seed0', method: 'sam', rho: 0.1, lambdaMax: 2.8, msharpness: 0.01, adaptiveMsharpness: 0.04, trace: 40 },
        { id: 'lets-sam-rho0.05-seed0', method: 'lets-sam', rho: 0.031, learnsRho: true, lambdaMax: 3.5, msharpness: 0.013, adaptiveMsharpness: 0.045, trace: 45 },
        { id: 'sgd-seed0', method: 'sgd', rho: 0, lambdaMax: 7, msharpness: 0.03, adaptiveMsharpness: 0.08, trace: 80 },
      ];
      for (const r of runs) fakeRun(join(cmp, 'runs', r.id), r.method, r.rho, 1);
      writeFileSync(join(cmp, 'compare.json'), JSON.stringify({ command: 'compare', options: {}, runs: runs.map((r) => ({ id: r.id, method: r.method, rho0: r.rho, seed: 0, learnsRho: r.learnsRho === true, summary: { testAccuracy: 0.97, finalRho: r.rho } })), table: [] }));
      writeFileSync(join(cmp, 'sharpness.json'), JSON.stringify({ command: 'compare-sharpness', runs: runs.map((r) => ({ seed: 0, learnsRho: false, ...r })) }));
      const page = await buildReport(cmp);
      const html = readFileSync(page, 'utf8');
      for (const id of ['sharp-lambda', 'sharp-msharp', 'sharp-adaptive', 'sharp-trace']) expect(html).toMatch(new RegExp(`<div class="plot" id="${id}"><svg`));
      expect(html).toContain('lets-sam: learned ρ 0.0310');
      const b = await screenshot(page);
      expect(b.errors).toEqual([]);
      const nonWhite = (() => {
        let n = 0;
        for (let i = 0; i < b.png.data.length; i += 4) if ((b.png.data[i] as number) < 235 || (b.png.data[i + 1] as number) < 235 || (b.png.data[i + 2] as number) < 235) n++;
        return n;
      })();
      expect(nonWhite / (b.png.width * b.png.height)).toBeGreaterThan(0.02);
      // Method colours of the plots (Vega's category10: blue, orange).
      expect(countNear(b.png, [0x4c, 0x78, 0xa8]) + countNear(b.png, [0x1f, 0x77, 0xb4])).toBeGreaterThan(200);
      expect(countNear(b.png, [0xf5, 0x85, 0x18]) + countNear(b.png, [0xff, 0x7f, 0x0e])).toBeGreaterThan(100);
    },
    240_000,
  );
});
