import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompareRun, formatTable, planRuns, tabulate } from './compare';
import { resolve, trainOptionsOf } from './options';
import { run, tempDir, TINY } from './test-util';
import type { TrainSummary } from './train';

const base = (() => {
  const r = resolve('train', ['--preset', 'smoke']);
  if (r._tag === 'Left') throw new Error(r.left);
  return trainOptionsOf(r.right.values);
})();

describe('compare', () => {
  it('plans method × (ρ grid | ρ₀ values) × seeds, sgd once per seed', () => {
    const plan = planRuns({ base, methods: ['sgd', 'sam', 'lets-sam'], rhos: [0.01, 0.1], rho0s: [0.05], seeds: [1, 2] });
    expect(plan.map((p) => p.id)).toEqual([
      'sgd-seed1', 'sgd-seed2',
      'sam-rho0.01-seed1', 'sam-rho0.01-seed2', 'sam-rho0.1-seed1', 'sam-rho0.1-seed2',
      'lets-sam-rho0.05-seed1', 'lets-sam-rho0.05-seed2',
    ]);
    expect(plan[3]?.options).toMatchObject({ method: 'sam', rho: 0.01, seed: 2, dataset: 'blobs' });
    expect(plan.filter((p) => p.learnsRho).map((p) => p.options.rho)).toEqual([0.05, 0.05]);
  });

  it('tabulates mean and sample standard deviation over seeds', () => {
    const s = (acc: number, rho: number): TrainSummary => ({ testAccuracy: acc, finalRho: rho, gap: 0.1, accuracyGap: 0.01, wallSeconds: 10 }) as TrainSummary;
    const runs: CompareRun[] = [
      { id: 'a', method: 'sam', rho0: 0.05, seed: 0, learnsRho: false, summary: s(0.9, 0.05) },
      { id: 'b', method: 'sam', rho0: 0.05, seed: 1, learnsRho: false, summary: s(0.8, 0.05) },
      { id: 'c', method: 'lets-sam', rho0: 0.05, seed: 0, learnsRho: true, summary: s(0.95, 0.2) },
      { id: 'd', method: 'lets-sam', rho0: 0.05, seed: 1, learnsRho: true, summary: null, error: 'boom' },
    ];
    const t = tabulate(runs);
    expect(t).toHaveLength(2);
    // mean 0.85; sample std = sqrt(((0.05)² + (0.05)²) / 1) = 0.0707…
    expect(t[0]?.testAccuracyMean).toBeCloseTo(0.85, 12);
    expect(t[0]?.testAccuracyStd).toBeCloseTo(Math.SQRT2 * 0.05, 12);
    expect(t[1]).toMatchObject({ method: 'lets-sam', n: 1, testAccuracyStd: 0, finalRhoMean: 0.2 });
    const text = formatTable({ command: 'compare', options: { base, methods: [], rhos: [], rho0s: [], seeds: [] }, runs, table: t, wallSeconds: 1, backend: 'cpu', jobs: 1, dir: '' });
    expect(text).toContain('85.00% ± 7.07');
    expect(text).toContain('FAILED d: boom');
  });

  it('runs a small comparison in worker processes and writes compare.json, the runs and report.html', async () => {
    process.env['LETS_CLI_ENTRY'] = join(__dirname, '..', 'bin', 'lets.js');
    const out = join(tempDir(), 'cmp');
    const r = await run(['compare', ...TINY.map((a, i) => (TINY[i - 1] === '--epochs' ? '1' : a)), '--methods', 'sam,lets-sam', '--rhos', '0.02,0.1', '--jobs', '2', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { runs: CompareRun[]; table: { method: string; rho0: number }[] };
    expect(res.runs.map((x) => x.id)).toEqual(['sam-rho0.02-seed0', 'sam-rho0.1-seed0', 'lets-sam-rho0.05-seed0']);
    expect(res.runs.every((x) => x.summary !== null)).toBe(true);
    expect(res.table.map((t) => [t.method, t.rho0])).toEqual([['sam', 0.02], ['sam', 0.1], ['lets-sam', 0.05]]);
    expect(readdirSync(out).sort()).toEqual(['compare.json', 'configs', 'report.html', 'runs']);
    expect(JSON.parse(readFileSync(join(out, 'runs', 'sam-rho0.1-seed0', 'config.json'), 'utf8'))).toMatchObject({ method: 'sam', rho: 0.1, epochs: 1 });
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('id="acc-vs-rho"');
  });
});
