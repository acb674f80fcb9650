/**
 * A training step before initRuntime() (this file never calls it; Jest gives every test file its
 * own tfjs): the error names initRuntime() instead of tfjs's bare "gradient function not found".
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Params, Tree } from '@lets/tree';
import { sgd } from '@lets/optim';
import { initTrainState, makeTrainStep } from './step';
import { disposeTrainState } from './fit';
import type { TrainableModel } from './types';

const model: TrainableModel = {
  init: () => ({ params: { w: tf.ones([2, 3]), b: tf.zeros([3]) }, state: {} }),
  apply: (p: Params, _s: Tree, x: tf.Tensor) => ({ logits: tf.add(tf.matMul(x as tf.Tensor2D, p['w'] as tf.Tensor2D), p['b']!), state: {} }),
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

it('makeTrainStep names initRuntime() when tfjs has no gradients registered', () => {
  const opt = sgd(0.1);
  const state = initTrainState(model, opt, 0);
  const x = tf.ones([4, 2]);
  const y = tf.tensor1d([0, 1, 2, 1], 'int32');
  let message = '';
  try {
    makeTrainStep({ model, optimizer: opt })(state, { x, y });
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toMatch(
    /^makeTrainStep: tfjs has no gradient functions registered \(tfjs: "Cannot compute gradient: gradient function not found for \w+\."\)\. Call `await initRuntime\(\)` from @lets\/runtime first: /,
  );
  [x, y].forEach((t) => t.dispose());
  disposeTrainState(state);
});
