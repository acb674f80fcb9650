import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir, TINY } from './test-util';

// Small measures of a tiny run (blobs + MLP on cpu): seconds, not the defaults' minute.
const SMALL = ['--backend', 'cpu', '--subset', '120', '--chunk-size', '50', '--m', '40', '--points', '5', '--trace-samples', '4', '--eig-iterations', '6'];

describe('lets sharpness RUN_DIR', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir(), 'run');
    const r = await run(['train', ...TINY, '--method', 'sam', '--out', dir]);
    expect(r.code).toBe(0);
  });

  it('measures the best checkpoint, writes sharpness.json and shows it in report.html', async () => {
    const r = await run(['sharpness', dir, '--quiet', ...SMALL, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const s = JSON.parse(readFileSync(join(dir, 'sharpness.json'), 'utf8')) as Record<string, any>;
    expect(out['loss']).toBe(s['loss']);
    expect(s).toMatchObject({ command: 'sharpness', checkpoint: 'best', method: 'sam', subset: 120, learnsRho: false, rho: 0.05 });
    expect(typeof s['step']).toBe('number');
    expect(s['eigenvalues'].values).toHaveLength(1);
    expect(s['eigenvalues'].values[0]).toBeGreaterThan(0);
    expect(s['eigenvalues'].estimator).toBe('exact');
    expect(s['trace'].samples).toBeLessThanOrEqual(4);
    expect(s['msharpness'].plain.perBatch).toHaveLength(3);
    expect(s['msharpness'].adaptive.rho).toBe(0.5);
    expect(s['landscape'].alphas).toEqual([-1, -0.5, 0, 0.5, 1]);
    // α = 0 is the trained point: the slice passes through the subset's loss there.
    expect(s['landscape'].losses[2]).toBeCloseTo(s['loss'], 5);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Sharpness</h2>');
    expect(html).toMatch(/<div class="plot" id="landscape"><svg/);
    expect(html).toContain('λ_max');
  });

  it('is deterministic for a seed; --what and --checkpoint last choose what is measured', async () => {
    const a = await run(['sharpness', dir, '--quiet', ...SMALL, '--what', 'eig,landscape', '--checkpoint', 'last', '--no-report']);
    expect(a.code).toBe(0);
    const s1 = JSON.parse(readFileSync(join(dir, 'sharpness.json'), 'utf8')) as Record<string, any>;
    const before = tf.memory().numTensors;
    await run(['sharpness', dir, '--quiet', ...SMALL, '--what', 'eig,landscape', '--checkpoint', 'last', '--no-report']);
    // The checkpoint's tensors, the data chunks and every vector are released.
    expect(tf.memory().numTensors).toBe(before);
    const s2 = JSON.parse(readFileSync(join(dir, 'sharpness.json'), 'utf8')) as Record<string, any>;
    expect(s1['checkpoint']).toBe('last');
    expect(s1['trace']).toBeUndefined();
    expect(s1['msharpness']).toBeUndefined();
    expect(s2['eigenvalues'].values).toEqual(s1['eigenvalues'].values);
    expect(s2['landscape'].losses).toEqual(s1['landscape'].losses);
    expect(a.stdout).toMatch(/λ_max/);
  });

  it('refuses a missing or wrong RUN_DIR with exit 2', async () => {
    expect((await run(['sharpness', ...SMALL])).stderr).toMatch(/expected one RUN_DIR argument/);
    const r = await run(['sharpness', tempDir(), ...SMALL]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a run directory/);
    expect((await run(['sharpness', dir, '--what', 'eig,curvature'])).code).toBe(2);
  });
});

describe('lets compare --sharpness', () => {
  it('measures every finished run and plots sharpness against ρ, LETS at its learned ρ', async () => {
    const out = join(tempDir(), 'cmp');
    const r = await run(['compare', ...TINY, '--methods', 'sam,lets-sam', '--jobs', '1', '--out', out, '--sharpness', ...SMALL, '--what', 'eig,msharp']);
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'sharpness.json'), 'utf8')) as { runs: Record<string, unknown>[] };
    expect(s.runs.map((x) => x['id'])).toEqual(['sam-rho0.05-seed0', 'lets-sam-rho0.05-seed0']);
    expect(s.runs.every((x) => typeof x['lambdaMax'] === 'number' && typeof x['msharpness'] === 'number')).toBe(true);
    expect(existsSync(join(out, 'runs', 'sam-rho0.05-seed0', 'sharpness.json'))).toBe(true);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const id of ['sharp-lambda', 'sharp-msharp', 'sharp-adaptive']) expect(html).toMatch(new RegExp(`<div class="plot" id="${id}"><svg`));
    expect(html).toMatch(/lets-sam: learned ρ \d/);
  });
});
