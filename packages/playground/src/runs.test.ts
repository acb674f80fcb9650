import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';
import type { Batch } from './data';
import { initMlp, mlpLogits } from './model';
import { DEFAULT_SETTINGS, makeRuns } from './runs';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

/** A seeded linear-teacher task with 6 inputs and 10 classes. */
function batch(n: number, seed: number): Batch {
  return tf.tidy(() => {
    const x = tf.randomUniform([n, 6], 0, 1, 'float32', seed) as tf.Tensor2D;
    const w = tf.randomNormal([6, 10], 0, 1, 'float32', 99);
    const y = tf.cast(tf.oneHot(tf.argMax(tf.matMul(x, w), 1) as tf.Tensor1D, 10), 'float32') as tf.Tensor2D;
    return { x, y };
  });
}

it('mlpLogits is relu(x W0 + b0) W1 + b1', () => {
  const p = initMlp({ inputDim: 3, hidden: [2], numClasses: 2 }, 5);
  const x = tf.tensor2d([[0.5, -1, 2]]);
  const got = mlpLogits(p, x).arraySync()[0]!;
  const W0 = p['dense0/kernel']!.arraySync() as number[][];
  const W1 = p['dense1/kernel']!.arraySync() as number[][];
  const h = [0, 1].map((j) => Math.max(0, 0.5 * W0[0]![j]! - W0[1]![j]! + 2 * W0[2]![j]!)); // biases start at 0
  const want = [0, 1].map((k) => h[0]! * W1[0]![k]! + h[1]! * W1[1]![k]!);
  got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
  expect(() => initMlp({ inputDim: 3, hidden: [0], numClasses: 2 }, 1)).toThrow('MLP width 1 is 0, expected an integer ≥ 1');
  tf.dispose([x, ...Object.values(p)]);
});

it('SAM and LETS-SAM agree until LETS first moves ρ, then differ; nothing leaks', async () => {
  const initial = initMlp({ inputDim: 6, hidden: [8], numClasses: 10 }, 1);
  const runs = makeRuns(initial, { ...DEFAULT_SETTINGS, every: 3 }, 9);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  for (let i = 0; i < 9; i++) {
    const train = batch(16, 10 + i);
    const val = batch(16, 100 + i);
    const [a, b] = [runs.sam.step(train, val), runs.lets.step(train, val)];
    runs.sam.record(a.dataSync()[0]!);
    runs.lets.record(b.dataSync()[0]!);
    tf.dispose([a, b, train.x, train.y, val.x, val.y]);
    counts.push(tf.memory().numTensors);
  }
  const [s, l] = [runs.sam.history, runs.lets.history];
  // ρ is first updated in step 4 (step count 3): the steps up to it see the same ρ₀ and weights
  for (let i = 0; i < 4; i++) expect(l[i]!.loss).toBe(s[i]!.loss);
  expect(l.slice(0, 3).every((h) => h.rho === DEFAULT_SETTINGS.rho0)).toBe(true);
  expect(l[3]!.rho).not.toBe(DEFAULT_SETTINGS.rho0);
  expect(s.every((h) => h.rho === DEFAULT_SETTINGS.rho0)).toBe(true);
  expect(l[8]!.loss).not.toBe(s[8]!.loss);
  // the count repeats with the ρ-update period: no growth
  for (let i = 3; i < counts.length; i++) expect(counts[i]).toBe(counts[i - 3]);
  expect(counts[0]).toBeGreaterThanOrEqual(before);
  runs.sam.dispose();
  runs.lets.dispose();
  tf.dispose(Object.values(initial));
});
