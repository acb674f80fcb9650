// The README's example, run as written (on cpu, in a temporary directory).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { initRuntime, Rng, softmaxCrossEntropy, hvp, stepScope, saveStateFile, loadStateFile, tensorsIn } from './index';

it('README example: trains, takes an HVP and checkpoints without leaking', async () => {
  await initRuntime({ backend: 'cpu' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-readme-'));
  const before = tf.memory().numTensors;
  const rng = new Rng(42);
  type Params = { w: tf.Tensor; b: tf.Tensor };
  let params: Params = { w: rng.normal([784, 10], 0, 0.01), b: tf.zeros([10]) };
  const x = rng.normal([32, 784]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(rng.randint([32], 10), 10), 'float32'));
  const loss = (p: Params) => softmaxCrossEntropy(tf.add(tf.matMul(x, p.w), p.b), y);
  const l0 = tf.tidy(() => loss(params).dataSync()[0]!);
  for (let step = 0; step < 10; step++) {
    const prev = params;
    params = await stepScope(() => {
      const [gw, gb] = tf.grads((w: tf.Tensor, b: tf.Tensor) => loss({ w, b }))([prev.w, prev.b]);
      return { w: tf.sub(prev.w, tf.mul(gw!, 0.1)), b: tf.sub(prev.b, tf.mul(gb!, 0.1)) };
    }, { release: prev });
  }
  const l1 = tf.tidy(() => loss(params).dataSync()[0]!);
  expect(l1).toBeLessThan(l0);
  const curvature = hvp((p) => loss(p as Params), params, params);
  // ⟨θ, Hθ⟩ ≥ 0: softmax cross-entropy is convex in a linear model's parameters
  expect(tf.tidy(() => tf.add(tf.sum(tf.mul(curvature['w']!, params.w)), tf.sum(tf.mul(curvature['b']!, params.b))).dataSync()[0]!)).toBeGreaterThanOrEqual(0);
  const file = path.join(dir, 'run.ckpt');
  await saveStateFile(file, { params, rng: rng.getState(), step: 10 });
  const back = await loadStateFile(file);
  expect(E.isRight(back)).toBe(true);
  if (E.isRight(back)) tf.dispose(tensorsIn(back.right));
  tf.dispose([...tensorsIn(curvature), params.w, params.b, x, y]);
  expect(tf.memory().numTensors).toBe(before);
  fs.rmSync(dir, { recursive: true, force: true });
});
