import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { buildReport } from './build';
import { tempDir } from '../test-util';

/** A run directory written by hand: 2 epochs of 5 logged steps, ρ moving as LETS would move it. */
function fakeRun(dir: string, method: string, rho0: number, seed: number, acc: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ method, dataset: 'mnist', model: 'cnn', rho: rho0, seed }));
  const lines: string[] = [];
  for (let s = 1; s <= 10; s++) {
    lines.push(JSON.stringify({ type: 'step', step: s, epoch: s / 5, loss: 2 / s, accuracy: 1 - 0.5 / s, rho: method.startsWith('lets-') ? rho0 * (1 + s / 10) : rho0, ...(s % 2 === 0 ? { gap: 0.05 / s } : {}) }));
    if (s % 5 === 0) {
      const e = s / 5;
      lines.push(JSON.stringify({ type: 'epoch', step: s, epoch: e, trainLoss: 0.3 / e, trainAccuracy: acc + 0.01, valLoss: 0.35 / e, valAccuracy: acc, testLoss: 0.36 / e, testAccuracy: acc - 0.001 * (2 - e), gap: 0.06 / e, valGap: 0.05 / e, rho: rho0, wallSeconds: 10 * e }));
    }
  }
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({ command: 'train', method, rho0, finalRho: method.startsWith('lets-') ? rho0 * 2 : rho0, testAccuracy: acc, valAccuracy: acc, trainAccuracy: acc + 0.01, gap: 0.03, accuracyGap: 0.01, epochs: 2, wallSeconds: 20, backend: 'cpu' }),
  );
}

function fakeCompare(dir: string): void {
  const runs = [
    { id: 'sam-rho0.02-seed0', method: 'sam', rho0: 0.02, seed: 0, learnsRho: false, acc: 0.985 },
    { id: 'sam-rho0.05-seed0', method: 'sam', rho0: 0.05, seed: 0, learnsRho: false, acc: 0.987 },
    { id: 'sam-rho0.1-seed0', method: 'sam', rho0: 0.1, seed: 0, learnsRho: false, acc: 0.986 },
    { id: 'lets-sam-rho0.05-seed0', method: 'lets-sam', rho0: 0.05, seed: 0, learnsRho: true, acc: 0.988 },
  ];
  for (const r of runs) fakeRun(join(dir, 'runs', r.id), r.method, r.rho0, r.seed, r.acc);
  writeFileSync(
    join(dir, 'compare.json'),
    JSON.stringify({
      command: 'compare',
      options: { methods: ['sam', 'lets-sam'] },
      runs: runs.map((r) => ({ ...r, summary: JSON.parse(readFileSync(join(dir, 'runs', r.id, 'summary.json'), 'utf8')) as unknown })),
      table: runs.map((r) => ({ method: r.method, rho0: r.rho0, n: 1, testAccuracyMean: r.acc, testAccuracyStd: 0, finalRhoMean: r.rho0, gapMean: 0.03, wallSecondsMean: 20 })),
    }),
  );
}

/** fakeRun's directory as a run with noisy validation labels: epoch lines and summary carry valClean…. */
function noisyValRun(dir: string): void {
  fakeRun(dir, 'lets-sam', 0.05, 0, 0.98);
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const noisy = lines.map((l) => (l['type'] === 'epoch' ? { ...l, valAccuracy: 0.5871, valCleanLoss: 0.123, valCleanAccuracy: 0.9634 } : l));
  writeFileSync(join(dir, 'metrics.jsonl'), `${noisy.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ ...summary, valAccuracy: 0.5871, valLabels: 'noisy', valCleanAccuracy: 0.9634, valCleanLoss: 0.123 }));
}

describe('report.html', () => {
  it('of a run with noisy validation labels: names both validation accuracies and shows each', async () => {
    const dir = join(tempDir(), 'run');
    noisyValRun(dir);
    const html = readFileSync(await buildReport(dir), 'utf8');
    expect(html).toContain('val acc (noisy labels)');
    expect(html).toContain('val acc (clean labels)');
    expect(html).toContain('val loss (noisy labels)');
    expect(html).toContain('58.71%');
    expect(html).toContain('96.34%');
    // A run without label noise keeps the one column.
    const plain = join(tempDir(), 'plain');
    fakeRun(plain, 'lets-sam', 0.05, 0, 0.98);
    const html2 = readFileSync(await buildReport(plain), 'utf8');
    expect(html2).not.toContain('noisy labels');
    expect(html2).toContain('<th>val acc</th>');
  });

  it('of a run: self-contained, with the four plots as SVG and no script or external resource', async () => {
    const dir = join(tempDir(), 'run');
    fakeRun(dir, 'lets-sam', 0.05, 0, 0.98);
    const file = await buildReport(dir);
    const html = readFileSync(file, 'utf8');
    for (const id of ['loss', 'accuracy', 'rho', 'gap']) expect(html).toMatch(new RegExp(`<div class="plot" id="${id}"><svg[^>]*class="marks"`));
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    // Lines are drawn (Vega emits one path per line mark and series).
    expect((html.match(/<path /g) ?? []).length).toBeGreaterThan(8);
    expect(html).toContain('98.00%'); // the summary table
  });

  it('of a comparison: accuracy against ρ with LETS at its learned ρ (labelled), and per-run curves', async () => {
    const dir = join(tempDir(), 'cmp');
    fakeCompare(dir);
    const html = readFileSync(await buildReport(dir), 'utf8');
    for (const id of ['acc-vs-rho', 'test-acc', 'test-loss', 'gap', 'rho']) expect(html).toContain(`id="${id}"`);
    // LETS's learned ρ (2 × 0.05 in the fake run) is marked and labelled on the accuracy–ρ plot.
    expect(html).toContain('lets-sam: learned ρ 0.100');
    expect(html).toContain('98.80% ± 0.00%');
  });

  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  const withChromium = chromium === undefined ? it.skip : it;
  if (chromium === undefined) {
    // eslint-disable-next-line no-console
    console.log('report.test: skipping the headless-Chromium screenshot test: chromium is not installed (apt-get install chromium)');
  }

  withChromium(
    'opens in headless Chromium with no console errors, and its plots are visible in a screenshot',
    async () => {
      const dir = join(tempDir(), 'cmp');
      fakeCompare(dir);
      const page = await buildReport(dir);
      const shot = join(tempDir(), 'shot.png');
      const profile = tempDir('lets-chromium-');
      const { stderr } = await new Promise<{ stderr: string }>((resolveRun, reject) => {
        execFile(
          chromium as string,
          [
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
            '--hide-scrollbars', '--window-size=1400,1800', `--screenshot=${shot}`, `file://${page}`,
          ],
          { timeout: 100_000 },
          (err, _out, errText) => (err && !existsSync(shot) ? reject(err) : resolveRun({ stderr: errText })),
        );
      });
      // The page logged nothing to the console (no script errors, no failed resource loads).
      expect(stderr.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/.test(l))).toEqual([]);
      const png = PNG.sync.read(readFileSync(shot));
      expect(png.width).toBe(1400);
      const pixel = (x: number, y: number): [number, number, number] => {
        const i = (y * png.width + x) * 4;
        return [png.data[i] as number, png.data[i + 1] as number, png.data[i + 2] as number];
      };
      let nonWhite = 0;
      const near = (c: [number, number, number], r: number, g: number, b: number): boolean => Math.abs(c[0] - r) + Math.abs(c[1] - g) + Math.abs(c[2] - b) < 60;
      // Series colours only plots use: Tableau blue, orange, green (splits) and the run colours.
      const colours: Record<string, [number, number, number]> = { blue: [0x4c, 0x78, 0xa8], orange: [0xf5, 0x85, 0x18], tab_blue: [0x1f, 0x77, 0xb4], tab_orange: [0xff, 0x7f, 0x0e] };
      const counts: Record<string, number> = Object.fromEntries(Object.keys(colours).map((k) => [k, 0]));
      for (let y = 0; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) {
          const c = pixel(x, y);
          if (c[0] < 235 || c[1] < 235 || c[2] < 235) nonWhite++;
          for (const [k, v] of Object.entries(colours)) if (near(c, ...v)) counts[k] = (counts[k] as number) + 1;
        }
      }
      // Not blank: a good share of the page is drawn, and plot colours (not used by text or
      // tables, which are black and grey) cover many pixels, so the plots rendered.
      expect(nonWhite / (png.width * png.height)).toBeGreaterThan(0.02);
      expect((counts['blue'] as number) + (counts['tab_blue'] as number)).toBeGreaterThan(200);
      expect((counts['orange'] as number) + (counts['tab_orange'] as number)).toBeGreaterThan(100);
    },
    120_000,
  );
});
