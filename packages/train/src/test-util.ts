/** Fixtures of the train tests: the CPU backend and fixed pseudo-random numbers. */
export { setupCpu, lcg, lcgTensor as uniform } from '@lets/testing';


import * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';
import { lcgTensor } from '@lets/testing';
import type { TrainableModel } from './types';

/**
 * A small model with state: a running mean of the inputs (like BatchNorm's statistics, updated
 * only in training mode with momentum 0.5), subtracted before a softplus MLP 2 → 8 → 3.
 */
export const statefulMlp: TrainableModel = {
  init: (seed) => ({
    params: { 'l1/w': lcgTensor([2, 8], seed, 0.8), 'l1/b': tf.zeros([8]), 'l2/w': lcgTensor([8, 3], seed + 1, 0.8), 'l2/b': tf.zeros([3]) },
    state: { 'bn/mean': tf.zeros([2]) },
  }),
  apply: (p: Params, s: Tree, x: tf.Tensor, { training }) =>
    tf.tidy(() => {
      const mean = training ? tf.add(tf.mul(s['bn/mean']!, 0.5), tf.mul(tf.mean(x, 0), 0.5)) : tf.clone(s['bn/mean']!);
      const h = tf.softplus(tf.add(tf.matMul(tf.sub(x, mean) as tf.Tensor2D, p['l1/w'] as tf.Tensor2D), p['l1/b']!));
      return { logits: tf.add(tf.matMul(h as tf.Tensor2D, p['l2/w'] as tf.Tensor2D), p['l2/b']!), state: { 'bn/mean': mean } };
    }),
};
