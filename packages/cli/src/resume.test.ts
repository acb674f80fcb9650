/**
 * A run killed mid-epoch and resumed from its last checkpoint ends with the same parameters,
 * bit for bit on the cpu backend, as an uninterrupted run with the same seed.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Params } from '@lets/tree';
import { readFinalParams } from './train';
import { run, tempDir, TINY } from './test-util';

const LAUNCHER = join(__dirname, '..', 'bin', 'lets.js');

function finalParams(dir: string): Params {
  const p = readFinalParams(dir);
  if (E.isLeft(p)) throw new Error(p.left);
  return p.right;
}

/** Byte-level equality of two parameter trees (same keys, order, shapes and float bits). */
function expectBitEqual(a: Params, b: Params): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) {
    const x = a[k] as tf.Tensor;
    const y = b[k] as tf.Tensor;
    expect(x.shape).toEqual(y.shape);
    const bx = Buffer.from((x.dataSync() as Float32Array).buffer);
    const by = Buffer.from((y.dataSync() as Float32Array).buffer);
    expect(bx.equals(by)).toBe(true);
  }
}

const summaryOf = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;

// 200 examples → 160 train, batch 20: 8 steps an epoch, 16 in all; checkpoints every 3 steps.
const ARGS = [...TINY, '--method', 'lets-sam', '--every', '2', '--checkpoint-every', '3', '--no-report'];

describe('resume', () => {
  let reference: string;

  beforeAll(async () => {
    reference = join(tempDir(), 'ref');
    const r = await run(['train', ...ARGS, '--out', reference]);
    expect(r.code).toBe(0);
  });

  it('halted mid-epoch twice and resumed twice, ends bit for bit where the uninterrupted run ends', async () => {
    const dir = join(tempDir(), 'cut');
    // Halt after step 5 (epoch 1, last checkpoint at step 3: steps 4 and 5 are redone).
    const a = await run(['train', ...ARGS, '--out', dir, '--halt-after', '5']);
    expect(a.code).toBe(3);
    expect(existsSync(join(dir, 'summary.json'))).toBe(false);
    // Resume, halt again mid-epoch 2 (after 7 more steps: global step 10; checkpoint at 9).
    const b = await run(['train', '--resume', dir, '--quiet', '--halt-after', '7', '--no-report']);
    expect(b.code).toBe(3);
    const c = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(c.code).toBe(0);
    const ref = finalParams(reference);
    const got = finalParams(dir);
    expectBitEqual(got, ref);
    tf.dispose([...Object.values(ref), ...Object.values(got)]);
    const s = summaryOf(dir);
    const sr = summaryOf(reference);
    expect(s['resumed']).toBe(true);
    expect(s['finalRho']).toBe(sr['finalRho']);
    expect(s['testAccuracy']).toBe(sr['testAccuracy']);
    expect(s['steps']).toBe(16);
    // metrics.jsonl has each step once: lines after the checkpoint were dropped on resume.
    const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((m) => m['type'] === 'step').map((m) => m['step']);
    expect(steps).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a process killed with SIGKILL mid-epoch resumes from its last checkpoint to the same parameters', async () => {
    const dir = join(tempDir(), 'killed');
    const child = spawn(process.execPath, [LAUNCHER, 'train', ...ARGS, '--out', dir], { stdio: 'ignore' });
    // Kill once a checkpoint exists and a few steps have been logged (mid-run).
    const killedAt = await new Promise<number>((resolveKill, reject) => {
      const timer = setInterval(() => {
        const m = join(dir, 'metrics.jsonl');
        const n = existsSync(m) ? readFileSync(m, 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0;
        if (n >= 5 && existsSync(join(dir, 'checkpoints', 'last.ckpt'))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolveKill(n);
        }
      }, 5);
      child.on('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`the run ended (exit ${code}) before it could be killed: ${existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').length : 'no metrics'}`));
      });
    });
    await new Promise((r) => child.on('exit', r));
    expect(killedAt).toBeLessThan(16);
    expect(existsSync(join(dir, 'summary.json'))).toBe(false);
    const r = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    const ref = finalParams(reference);
    const got = finalParams(dir);
    expectBitEqual(got, ref);
    tf.dispose([...Object.values(ref), ...Object.values(got)]);
  });
});
