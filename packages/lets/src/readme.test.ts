// The first example of the repository's README.md, run as written (between the markers), on a
// synthetic task: the loss must fall, ρ must move off ρ₀, and no tensor may leak.
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime, softmaxCrossEntropy } from '@lets/runtime';
import { sgd, applyUpdates, gradFnOf } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets } from '@lets/lets';
import { Params, dispose, disposeState } from '@lets/tree';

const teacher = (n: number, seed: number) =>
  tf.tidy(() => {
    const x = tf.randomNormal([n, 20], 0, 1, 'float32', seed);
    const w = tf.randomNormal([20, 3], 0, 1, 'float32', 7);
    const y = tf.cast(tf.oneHot(tf.argMax(tf.matMul(x, w), 1) as tf.Tensor1D, 3), 'float32');
    return { x, y };
  });

it('the README example trains, learns rho and leaks nothing', async () => {
  await initRuntime({ backend: 'cpu' });
  const batches = Array.from({ length: 40 }, (_, i) => {
    const { x, y } = teacher(32, 100 + i);
    const { x: xv, y: yv } = teacher(32, 1000 + (i % 4)); // a small held-out validation set
    return { x, y, xv, yv };
  });
  const first: number[] = [];
  const last: number[] = [];
  const before = tf.memory().numTensors;
  // --- README example ---
  // A softmax classifier; its loss is a function of the parameter tree, and gradFnOf turns
  // such a loss into the GradFn that SAM and LETS call for their extra passes.
  const lossOn = (x: tf.Tensor, y: tf.Tensor) => (p: Params): tf.Scalar =>
    softmaxCrossEntropy(tf.add(tf.matMul(x, p.w!), p.b!), y);

  let params: Params = { w: tf.randomNormal([20, 3], 0, 0.1, 'float32', 1), b: tf.zeros([3]) };
  // totalSteps: ρ is learned over the first 30 % of the run's ρ updates, then held (docs/lets.md).
  const opt = lets(sam(sgd(0.1, { momentum: 0.9 }), { rho: 0.05 }), { totalSteps: batches.length });
  let state = opt.init(params);
  for (const { x, y, xv, yv } of batches) {
    const train = gradFnOf(lossOn(x, y));
    const { loss, grads } = train(params);
    const [updates, next] = opt.update(grads, state, params, {
      loss, gradFn: train, valGradFn: gradFnOf(lossOn(xv, yv)),
    });
    const newParams = applyUpdates(params, updates);
    (first.length < 5 ? first : last).push(loss.dataSync()[0]!); // (test bookkeeping)
    if (last.length > 5) last.shift();
    [params, updates, grads].forEach(dispose);
    loss.dispose();
    disposeState(state);
    params = newParams;
    state = next;
  }
  console.log(opt.metrics(state).rho); // the learned radius
  // --- end of README example ---
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  expect(mean(last)).toBeLessThan(0.5 * mean(first));
  expect(opt.metrics(state).rho).not.toBe(0.05);
  expect(state.report?.held).toBe(true); // past round(0.3 · 8) = 2 of its 8 updates
  expect(Number.isFinite(opt.metrics(state).rho)).toBe(true);
  dispose(params);
  disposeState(state);
  expect(tf.memory().numTensors).toBe(before);
  batches.forEach((b) => tf.dispose([b.x, b.y, b.xv, b.yv]));
});
