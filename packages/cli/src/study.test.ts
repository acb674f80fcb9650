/**
 * The evidence study's smoke version (tools/study.mjs --smoke): a few hundred MNIST examples, one
 * epoch, one seed, SGD / SAM / LETS-SAM through the real `lets train` command, then the results
 * page and its plots generated from the run records; a second invocation redoes nothing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');
const study = (out: string, ...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'tools', 'study.mjs'), '--smoke', '--out', out, '--jobs', '1', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, LETS_BACKEND: 'cpu' },
  });

it('runs the smoke study, writes the records and the page, and resumes without redoing runs', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-study-'));
  try {
    const first = study(out);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/4 runs planned, 0 recorded, 4 to run/);
    const records = fs.readdirSync(path.join(out, 'runs', 'smoke')).sort();
    expect(records).toEqual(['lets-sam-rho0.05-s0.json', 'sam-rho0.05-s0.json', 'sam-rho0.5-s0.json', 'sgd-s0.json']);
    const rec = JSON.parse(fs.readFileSync(path.join(out, 'runs', 'smoke', 'lets-sam-rho0.05-s0.json'), 'utf8'));
    expect(rec.failed).toBeUndefined();
    expect(rec.command).toMatch(/^lets train .*--method lets-sam --rho 0.05 --seed 0$/);
    expect(rec.summary.testAccuracy).toBeGreaterThan(0.2); // 10 classes: well above chance after one epoch
    expect(rec.updates).toBeGreaterThan(0); // ρ was updated
    expect(rec.trace.length).toBeGreaterThan(0);
    const page = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(page).toMatch(/\| lets-sam \| 0\.05 \| 1 \|/);
    expect(page).toMatch(/Best fixed-ρ SAM: ρ = /);
    for (const f of ['smoke-accuracy.svg', 'smoke-rho.svg', 'smoke-gap.svg']) {
      expect(fs.readFileSync(path.join(out, 'plots', f), 'utf8')).toMatch(/^<svg/);
    }
    const again = study(out);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/4 runs planned, 4 recorded, 0 to run/);
    expect(fs.readFileSync(path.join(out, 'runs', 'smoke', 'lets-sam-rho0.05-s0.json'), 'utf8')).toBe(JSON.stringify(rec, null, 1) + '\n');
    // A record written before a summary key was kept gains it from its run directory, and
    // nothing else changes; a record whose run directory is another run's does not.
    expect(rec.summary.valLabels).toBe('clean'); // no label noise in the smoke group
    const recPath = path.join(out, 'runs', 'smoke', 'lets-sam-rho0.05-s0.json');
    const { valLabels: _dropped, ...older } = rec.summary;
    fs.writeFileSync(recPath, JSON.stringify({ ...rec, summary: older }, null, 1) + '\n');
    const samPath = path.join(out, 'runs', 'smoke', 'sam-rho0.05-s0.json');
    const samRec = JSON.parse(fs.readFileSync(samPath, 'utf8'));
    const { valLabels: _d2, ...samOlder } = samRec.summary;
    const samOlderText = JSON.stringify({ ...samRec, summary: { ...samOlder, testAccuracy: 0.123 } }, null, 1) + '\n';
    fs.writeFileSync(samPath, samOlderText);
    const refreshed = study(out, '--report-only');
    expect(refreshed.status).toBe(0);
    expect(refreshed.stdout).toContain('smoke/lets-sam-rho0.05-s0: record gained valLabels from its run directory');
    expect(fs.readFileSync(recPath, 'utf8')).toBe(JSON.stringify(rec, null, 1) + '\n');
    expect(fs.readFileSync(samPath, 'utf8')).toBe(samOlderText);
    fs.writeFileSync(samPath, JSON.stringify(samRec, null, 1) + '\n');
    // --sharpness measures the final model of each recorded run, and refuses a run directory
    // that is not the recorded run (here: one whose summary was rewritten by another run).
    const other = path.join(out, 'work', 'smoke', 'sam-rho0.5-s0', 'summary.json');
    fs.writeFileSync(other, JSON.stringify({ ...JSON.parse(fs.readFileSync(other, 'utf8')), testAccuracy: 0.5 }));
    const sharp = study(out, '--sharpness', '--only', '^(sgd|sam-rho0\\.5)-');
    expect(sharp.status).toBe(0);
    expect(sharp.stdout).toMatch(/smoke\/sam-rho0\.5-s0: sharpness skipped: .* is not the recorded run \(its summary says test 0\.5/);
    expect(sharp.stdout).toMatch(/smoke\/sgd-s0: λ_max [0-9.e+-]+, m-sharpness/);
    const sgdRec = JSON.parse(fs.readFileSync(path.join(out, 'runs', 'smoke', 'sgd-s0.json'), 'utf8'));
    expect(sgdRec.sharpness.lambdaMax).toBeGreaterThan(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'runs', 'smoke', 'sam-rho0.5-s0.json'), 'utf8')).sharpness).toBeUndefined();
    // A run another study is running (its directory locked by a live process of this host) is
    // neither redone nor removed; a stale lock (a pid that no longer runs) does not hold it.
    const sgdDir = path.join(out, 'work', 'smoke', 'sgd-s0');
    fs.rmSync(path.join(out, 'runs', 'smoke', 'sgd-s0.json'));
    const lock = { pid: process.pid, host: os.hostname(), command: 'lets train (another study)', startedAt: new Date().toISOString(), token: 't' };
    fs.writeFileSync(path.join(sgdDir, 'lock'), JSON.stringify(lock));
    const held = study(out, '--only', '^sgd-');
    expect(held.status).toBe(0);
    expect(held.stdout).toContain(`smoke/sgd-s0: skipped: ${sgdDir} is in use by lets train (another study) (pid ${process.pid} on this host, since ${lock.startedAt})`);
    expect(fs.existsSync(path.join(sgdDir, 'lock'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'runs', 'smoke', 'sgd-s0.json'))).toBe(false);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(sgdDir, 'lock'), JSON.stringify({ ...lock, pid: Number(gone.stdout) }));
    const rerun = study(out, '--only', '^sgd-');
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toMatch(/smoke\/sgd-s0: test [0-9.]+%/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'runs', 'smoke', 'sgd-s0.json'), 'utf8')).summary.testAccuracy).toBe(sgdRec.summary.testAccuracy);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 180_000);

it("the results page counts SGD as ρ = 0 in the 0.5-point region of the fixed-ρ grid, not as the grid's best", () => {
  // Synthetic records: SGD 94.4, SAM 0.01 94.6 (the best), 0.1 93.0; LETS-SAM ends at ρ 0.002 (below the grid).
  const rec = (method: string, rho: number, seed: number, acc: number, finalRho?: number) => ({
    id: `${method}-${rho}-s${seed}`, group: 'g', variant: '', method, rho, seed, command: `lets train --method ${method} --seed ${seed}`, commit: 'abc1234', machine: 'm',
    summary: { testAccuracy: acc, gap: 0.1, wallSeconds: 1, ...(finalRho !== undefined ? { finalRho } : {}) }, trace: [], epochs: [],
  });
  const records = [0, 1].flatMap((s) => [
    rec('sgd', 0, s, 0.944 + s * 1e-4),
    rec('sam', 0.01, s, 0.946 + s * 1e-4),
    rec('sam', 0.1, s, 0.93 + s * 1e-4),
    rec('lets-sam', 0.05, s, 0.9455 + s * 1e-4, 0.002),
  ]);
  const script = `import { renderReport } from ${JSON.stringify(path.join(root, 'tools', 'study', 'report.mjs'))};
    const { markdown } = renderReport({ records: ${JSON.stringify(records)}, groups: { g: { title: 'G' } }, plan: [], plotsRel: 'p', smoke: true });
    process.stdout.write(markdown);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/Best fixed-ρ SAM: ρ = 0\.01, 94\.6\d ± 0\.0\d \(2 seeds\); fixed ρ within 0\.5 points of it: 0 \(SGD\), 0\.01\./);
  expect(r.stdout).toMatch(/\| 0\.05 \| 94\.5\d ± 0\.0\d \| -0\.05 \| no \| 0\.002 \| yes \(0–0\.01\) \|/);
});

it('the results page tables what the validation split says under noisy validation labels, and names the gap plot\'s series', () => {
  // Synthetic records of a noisy group: SGD and SAM 0.1, 2 seeds each, with their validation figures on both label sets.
  const rec = (method: string, rho: number, seed: number, acc: number, valLoss: number, valCleanLoss: number) => ({
    id: `${method}-${rho}-s${seed}`, group: 'g', variant: '', method, rho, seed, command: `lets train --method ${method} --seed ${seed}`, commit: 'abc1234', machine: 'm',
    summary: { testAccuracy: acc, gap: 0.02 + seed * 0.01, wallSeconds: 1, valLabels: 'noisy', valLoss, valAccuracy: 0.59 + seed * 0.01, valCleanLoss, valCleanAccuracy: 0.96 + seed * 0.01 },
    trace: [], epochs: [],
  });
  const records = [0, 1].flatMap((s) => [rec('sgd', 0, s, 0.965 + s * 0.001, 1.64 + s * 0.02, 0.64 + s * 0.02), rec('sam', 0.1, s, 0.966 + s * 0.001, 1.62 + s * 0.02, 0.67 + s * 0.02)]);
  // A record from before valLabels (its validation figures on clean labels) in a cell of its own.
  records.push({ ...rec('sam', 0.5, 0, 0.1, 2.3, 2.3), summary: { testAccuracy: 0.1, gap: 0, wallSeconds: 1, valLoss: 2.3, valAccuracy: 0.1 } } as never);
  const script = `import { renderReport } from ${JSON.stringify(path.join(root, 'tools', 'study', 'report.mjs'))};
    const { markdown, plots } = renderReport({ records: ${JSON.stringify(records)}, groups: { g: { title: 'G' } }, plan: [], plotsRel: 'p', smoke: true });
    process.stdout.write(JSON.stringify({ markdown, gap: plots['g-gap.svg'] }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const { markdown, gap } = JSON.parse(r.stdout) as { markdown: string; gap: string };
  // Means over the two seeds: test (96.55, 96.65), noisy val loss (1.6500, 1.6300), noisy val acc 59.50, clean val loss (0.6500, 0.6800), clean val acc 96.50.
  expect(markdown).toContain('| sgd | – | 96.55 | 1.6500 | 59.50 | 0.6500 | 96.50 |');
  expect(markdown).toContain('| sam | 0.1 | 96.65 | 1.6300 | 59.50 | 0.6800 | 96.50 |');
  expect(markdown).not.toMatch(/\| sam \| 0\.5 \| 10\.00 \| 2\.3000/); // not every run of that cell says valLabels
  for (const label of ['sam: test − train loss', 'sam: validation loss, noisy labels', 'sam: validation loss, clean labels']) expect(gap).toContain(label);
  expect(gap).not.toContain('val − train');
});
