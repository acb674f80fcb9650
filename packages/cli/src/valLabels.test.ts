import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import * as data from '@lets/data';
import { initRuntime } from '@lets/runtime';
import { loadCheckpoint } from '@lets/train';
import { disposeState } from '@lets/tree';
import { buildModel, loadData } from './setup';
import { readRunConfig } from './train';
import { run, tempDir, TINY } from './test-util';

/**
 * Under label noise the run's validation figures (and so the best checkpoint) are measured on the
 * validation labels the run has: noisy by default (`--val-labels noisy`), with the clean-label
 * figures beside them as an oracle; with `--val-labels clean` on the clean ones. Checked against
 * the accuracy of the final model recomputed here, argmax by argmax, against each set of labels.
 */
describe('lets train: validation metrics on the run\'s validation labels', () => {
  const train = async (extra: string[]) => {
    const out = join(tempDir(), 'run');
    const r = await run(['train', ...TINY, '--label-noise', '0.5', '--val-fraction', '0.3', '--method', 'sgd', '--out', out, '--json', '--no-report', ...extra]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return { out, s: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  /** The final model's accuracy on the validation split against its given and its clean labels, and how many labels differ. */
  const recompute = async (out: string) => {
    await initRuntime({ backend: 'cpu' });
    const cfg = readRunConfig(out);
    if (E.isLeft(cfg)) throw new Error(cfg.left);
    const ds = loadData(cfg.right);
    if (E.isLeft(ds)) throw new Error(ds.left);
    const model = buildModel(cfg.right, ds.right);
    if (E.isLeft(model)) throw new Error(model.left);
    const ck = await loadCheckpoint(join(out, 'checkpoints', 'last.ckpt'));
    if (E.isLeft(ck)) throw ck.left;
    const val = ds.right.validation!;
    const host = data.hostBatch(ds.right, val, Int32Array.from({ length: val.count }, (_, i) => i));
    const logits = tf.tidy(() => model.right.apply(ck.right.params, ck.right.modelState ?? {}, tf.tensor(host.x, host.shape as number[]), { training: false }).logits);
    const [n, k] = logits.shape as [number, number];
    const z = logits.dataSync();
    const pred = Array.from({ length: n }, (_, i) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (z[i * k + c]! > z[i * k + best]!) best = c;
      return best;
    });
    logits.dispose();
    disposeState(ck.right);
    const acc = (labels: Int32Array) => pred.filter((p, i) => p === labels[i]).length / pred.length;
    const differ = host.y.filter((y, i) => y !== host.cleanY[i]).length;
    return { given: acc(host.y), clean: acc(host.cleanY), differ };
  };

  it('default (noisy validation labels): valAccuracy on the noisy labels, valCleanAccuracy on the clean ones, both in the epoch lines', async () => {
    const { out, s } = await train([]);
    const r = await recompute(out);
    expect(r.differ).toBeGreaterThan(0); // the two sets of labels really differ on this split
    expect(s['valLabels']).toBe('noisy');
    expect(s['valAccuracy']).toBeCloseTo(r.given, 12);
    expect(s['valCleanAccuracy']).toBeCloseTo(r.clean, 12);
    expect(s['valAccuracy']).not.toBeCloseTo(s['valCleanAccuracy'] as number, 6);
    expect(typeof s['valCleanLoss']).toBe('number');
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((m) => m['type'] === 'epoch');
    expect(epochs.at(-1)?.['valAccuracy']).toBe(s['valAccuracy']);
    expect(epochs.at(-1)?.['valCleanAccuracy']).toBe(s['valCleanAccuracy']);
    // The best checkpoint is chosen by the noisy-label validation accuracy, the one a user has.
    expect(s['bestValAccuracy']).toBe(Math.max(...epochs.map((e) => e['valAccuracy'] as number)));
  });

  it('--val-labels clean: the validation labels are the clean ones; no oracle fields', async () => {
    const { out, s } = await train(['--val-labels', 'clean']);
    const r = await recompute(out);
    expect(r.differ).toBe(0);
    expect(s['valLabels']).toBe('clean');
    expect(s['valAccuracy']).toBeCloseTo(r.clean, 12);
    expect(s).not.toHaveProperty('valCleanAccuracy');
    expect(s).not.toHaveProperty('valCleanLoss');
  });
});
