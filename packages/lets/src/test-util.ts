/** Fixtures of the lets tests: a softplus MLP with runtime's twice-differentiable cross-entropy. */
import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '@lets/runtime';
import { lcgTensor as uniform } from '@lets/testing';
import { gradFnOf } from '@lets/optim';
import type { Extra, GradFn, LossFn } from '@lets/optim';
import type { Params } from '@lets/tree';

export { setupCpu, lcg, lcgTensor as uniform } from '@lets/testing';

export interface Batch {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D; // one-hot
}

/** Inputs in [-1,1)^din, labels from a fixed linear teacher (flipped by `labelShift` classes). */
export const makeBatch = (n: number, din: number, classes: number, seed: number, labelShift = 0): Batch => {
  const x = uniform([n, din], seed) as tf.Tensor2D;
  const y = tf.tidy(() => {
    const teacher = uniform([din, classes], 999);
    const cls = tf.argMax(tf.matMul(x, teacher as tf.Tensor2D), 1);
    const shifted = tf.mod(tf.add(cls, labelShift), classes);
    return tf.cast(tf.oneHot(tf.cast(shifted, 'int32') as tf.Tensor1D, classes), 'float32');
  }) as tf.Tensor2D;
  return { x, y };
};

export const disposeBatch = (b: Batch): void => {
  b.x.dispose();
  b.y.dispose();
};

export const mlpInit = (din: number, hidden: number, classes: number, seed: number): Params => ({
  'l1/w': uniform([din, hidden], seed, 0.9),
  'l1/b': uniform([hidden], seed + 1, 0.1),
  'l2/w': uniform([hidden, classes], seed + 2, 0.9),
  'l2/b': uniform([classes], seed + 3, 0.1),
});

export const logits = (p: Params, x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    let h = tf.softplus(tf.add(tf.matMul(x, p['l1/w']! as tf.Tensor2D), p['l1/b']!)) as tf.Tensor2D;
    // An optional normalization-style scale (for SAM-ON, which perturbs only such parameters).
    if (p['bn/gamma'] !== undefined) h = tf.mul(h, p['bn/gamma']) as tf.Tensor2D;
    return tf.add(tf.matMul(h, p['l2/w']! as tf.Tensor2D), p['l2/b']!) as tf.Tensor2D;
  });

export const lossOf =
  (b: Batch): LossFn =>
  (p: Params) =>
    tf.tidy(() => softmaxCrossEntropy(logits(p, b.x), b.y));

/** The expected 0-1 error, mean of 1 − softmax(z)_y (a bounded validation loss; @lets/train's expectedError). */
export const errorOf =
  (b: Batch): LossFn =>
  (p: Params) =>
    tf.tidy(() => {
      const z = logits(p, b.x);
      const py = tf.exp(tf.sub(tf.sum(tf.mul(z, b.y), -1), tf.logSumExp(z, -1)));
      return tf.sub(1, tf.mean(py)) as tf.Scalar;
    });

export const gradOf = gradFnOf;

/** The clean pass and the extras of one training step on `b`, validating on `v`. */
export const stepInputs = (p: Params, b: Batch, v?: Batch, valLossOf: (b: Batch) => LossFn = lossOf) => {
  const lossFn = lossOf(b);
  const gradFn = gradOf(lossFn);
  const clean = gradFn(p);
  const extra: Extra = {
    loss: clean.loss,
    gradFn,
    lossFn,
    ...(v !== undefined ? { valGradFn: gradOf(valLossOf(v)), valLossFn: valLossOf(v) } : {}),
  };
  return { grads: clean.grads, loss: clean.loss, extra };
};

export const num = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;
