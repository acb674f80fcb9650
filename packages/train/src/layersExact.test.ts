/**
 * The case issue 17 reported: a plain tfjs-layers model (Dense layers; the last one linear, which
 * tfjs runs as its fused matMul, a customGrad op) under LETS with the 'exact' estimator, through
 * @lets/models' fromLayersModel and this package's training step. It used to fail with
 * "fusedMatMul__op is not twice-differentiable"; now it trains, and its hypergradients agree
 * with the 'fd' estimator's on the same steps (a smooth network: softplus).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { sgd } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets, type LetsState } from '@lets/lets';
import { fromLayersModel } from '@lets/models';
import { initTrainState, makeTrainStep } from './step';
import { disposeTrainState } from './fit';
import { setupCpu, uniform } from './test-util';
import type { TrainBatch } from './types';

beforeAll(setupCpu);

const batch = (seed: number): TrainBatch => {
  const x = uniform([32, 4], seed);
  const y = tf.tidy(() => tf.cast(tf.argMax(tf.matMul(x, uniform([4, 3], 99)), 1), 'int32'));
  return { x, y };
};

it("a tfjs-layers Dense model trains under LETS with the 'exact' estimator, agreeing with 'fd'", () => {
  // Seeded initializers: tfjs-layers' defaults draw from an unseeded generator, which made the
  // fd-against-exact comparison below pass or fail with the draw.
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const lm = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [4], units: 8, activation: 'softplus', kernelInitializer: init(11) }),
      tfl.layers.dense({ units: 3, kernelInitializer: init(12) }),
    ],
  });
  const model = fromLayersModel(lm);
  const train = [batch(1), batch(2), batch(3), batch(4)];
  const val = batch(5);
  const run = (estimator: 'exact' | 'fd') => {
    const opt = lets(sam(sgd(0.2, { momentum: 0.9 }), { rho: 0.05 }), { every: 1, estimator, stallGuard: false });
    let state = initTrainState(model, opt, 0);
    const step = makeTrainStep({ model, optimizer: opt });
    const hypergradients: number[] = [];
    const rhos: number[] = [];
    for (let t = 0; t < 8; t++) {
      state = step(state, train[t % 4]!, val).state;
      const report = (state.optState as LetsState<unknown>).report!;
      if (report.hypergradient !== undefined) hypergradients.push(report.hypergradient);
      rhos.push(report.rho);
    }
    disposeTrainState(state);
    return { hypergradients, rhos };
  };
  const before = tf.memory().numTensors;
  const exact = run('exact');
  const fd = run('fd');
  expect(tf.memory().numTensors).toBe(before);
  expect(exact.hypergradients).toHaveLength(7);
  exact.hypergradients.forEach((h) => expect(Number.isFinite(h)).toBe(true));
  expect(exact.rhos[7]).not.toBe(0.05);
  // Same steps, same data: the two estimators see the same tangent problem at step 1 (after that
  // the ρ they chose differ a little); fd is within 1 % of exact on smooth models (docs/lets.md).
  expect(Math.abs(exact.hypergradients[0]!)).toBeGreaterThan(1e-6);
  expect(Math.abs(fd.hypergradients[0]! - exact.hypergradients[0]!)).toBeLessThan(0.05 * Math.abs(exact.hypergradients[0]!));
  [...train, val].forEach((b) => tf.dispose([b.x, b.y]));
});
