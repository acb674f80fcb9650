import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { initRuntime } from '@lets/runtime';
import { loadCheckpoint } from '@lets/train';
import { disposeState } from '@lets/tree';
import { run, tempDir, TINY } from './test-util';

describe('lets (in-process)', () => {
  it('with no command prints the usage and exits 2; an unknown command exits 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('lets train');
    const u = await run(['fit']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("unknown command 'fit'");
  });

  it.each([
    [['--lr', 'fast'], "lets train: --lr: expected a number > 0, got 'fast'"],
    [['--frobnicate'], 'lets train: unknown flag --frobnicate'],
    [['--dataset', 'imagenet'], 'lets train: --dataset: expected one of mnist'],
    [['--method', 'lets-foo'], 'lets train: --method: expected one of sgd'],
  ])('refuses %j before training: exit 2, a clear message, nothing written', async (bad, message) => {
    const dir = tempDir();
    const out = join(dir, 'run');
    const r = await run(['train', ...TINY, '--out', out, ...(bad as string[])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a non-empty output directory and a missing --resume target, writing nothing', async () => {
    const dir = tempDir();
    const r1 = await run(['train', ...TINY, '--out', join(__dirname)]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('directory is not empty');
    const r2 = await run(['train', '--resume', join(dir, 'nope')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('--resume');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('train --help lists the flags and exits 0', async () => {
    const r = await run(['train', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--batch-size');
    expect(r.stdout).toContain('--resume');
  });

  it('train --json prints one JSON summary with the required keys, and writes the run directory', async () => {
    const out = join(tempDir(), 'run');
    const r = await run(['train', ...TINY, '--method', 'lets-sam', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0] as string) as Record<string, unknown>;
    for (const k of ['method', 'testAccuracy', 'finalRho', 'epochs', 'wallSeconds', 'backend']) expect(s).toHaveProperty(k);
    expect(s['method']).toBe('lets-sam');
    expect(s['backend']).toBe('cpu');
    expect(s['epochs']).toBe(2);
    expect(typeof s['finalRho']).toBe('number');
    // 200 examples, 20% held out for validation → 160 train, batch 20 → 8 steps an epoch.
    expect(s['steps']).toBe(16);
    expect(s['testAccuracy'] as number).toBeGreaterThanOrEqual(0);
    expect(s['testAccuracy'] as number).toBeLessThanOrEqual(1);
    expect(readdirSync(out).sort()).toEqual(['checkpoints', 'config.json', 'metrics.jsonl', 'report.html', 'summary.json']);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['best.ckpt', 'last.ckpt']);
    // The run's checkpoint is the library's one format: @lets/train's loader reads it.
    await initRuntime({ backend: 'cpu' });
    const ck = await loadCheckpoint(join(out, 'checkpoints', 'last.ckpt'));
    if (E.isLeft(ck)) throw ck.left;
    expect([ck.right.step, ck.right.epoch, ck.right.batchInEpoch]).toEqual([16, 2, 0]);
    expect(ck.right.best).toBe(s['bestValAccuracy']);
    expect((ck.right.meta?.['config'] as Record<string, unknown>)['method']).toBe('lets-sam');
    expect(typeof ck.right.meta?.['metricsBytes']).toBe('number');
    expect(Object.keys(ck.right.params).length).toBeGreaterThan(0);
    disposeState(ck.right);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(s);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const epochs = metrics.filter((m) => m['type'] === 'epoch');
    expect(epochs.map((e) => e['epoch'])).toEqual([1, 2]);
    expect(metrics.filter((m) => m['type'] === 'step').map((m) => m['step'])).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(epochs[1]?.['testAccuracy']).toBe(s['testAccuracy']);
    // The resolved config reruns the same thing.
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config['method']).toBe('lets-sam');
    expect(config['batchSize']).toBe(20);
    // report rebuilds the page from the files.
    const rep = await run(['report', out, '--json']);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout)).toEqual({ command: 'report', report: join(out, 'report.html') });
  });

  it("--val-loss error: LETS's validation passes report the expected error (≤ 1), the training loss stays the cross-entropy", async () => {
    const stepsOf = async (extra: string[]) => {
      const out = join(tempDir(), 'run');
      const r = await run(['train', ...TINY, '--method', 'lets-sam', '--every', '1', '--out', out, '--no-report', ...extra]);
      expect(r.code).toBe(0);
      return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((m) => m['type'] === ('step' as unknown) && typeof m['valLoss'] === 'number');
    };
    const ce = await stepsOf([]);
    const err = await stepsOf(['--val-loss', 'error']);
    expect(err.length).toBeGreaterThan(2);
    for (const m of err) {
      expect(m['valLoss']).toBeGreaterThan(0);
      expect(m['valLoss']).toBeLessThanOrEqual(1);
    }
    // The first ρ update reads the validation loss at the same θ (ρ has not moved yet) and on the
    // same batch in both runs, and 1 − p ≤ −ln p: the expected error is below the cross-entropy.
    expect(err[0]!['step']).toBe(ce[0]!['step']);
    expect(err[0]!['loss']).toBe(ce[0]!['loss']);
    expect(err[0]!['valLoss']).toBeLessThan(ce[0]!['valLoss']! - 1e-3);
  });

  it('report refuses a directory that is not a run', async () => {
    const r = await run(['report', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a run or comparison directory');
  });

  it('runs the main job\'s pipeline on a slice of MNIST: lets-sam, CNN, wasm, label noise', async () => {
    const out = join(tempDir(), 'mnist');
    const r = await run(['train', '--preset', 'main', '--train-size', '300', '--test-size', '200', '--epochs', '1', '--backend', 'wasm', '--label-noise', '0.1', '--out', out, '--json', '--no-report']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ method: 'lets-sam', dataset: 'mnist', model: 'cnn', backend: 'wasm', epochs: 1 });
    // 300 examples (30 a class), 5% held out → 285 train, batch 128 → 3 steps.
    expect(s['steps']).toBe(3);
    expect(s['testAccuracy'] as number).toBeGreaterThan(0.1); // above chance after 3 steps
  });
});
