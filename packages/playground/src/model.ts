/**
 * The playground's model: an MLP 784 → hidden → 10 with ReLU, as a parameter tree
 * (`dense0/kernel`, `dense0/bias`, …) and a loss of that tree, the way @lets/optim's
 * `gradFnOf` wants it. Weights are He-normal (std √(2/fan_in)), biases zero.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import { softmaxCrossEntropy } from '@lets/runtime';

export interface MlpShape {
  readonly inputDim: number;
  readonly hidden: readonly number[];
  readonly numClasses: number;
}

/** Layer widths, input first. */
const widths = (s: MlpShape): number[] => [s.inputDim, ...s.hidden, s.numClasses];

export function initMlp(shape: MlpShape, seed: number): Params {
  const w = widths(shape);
  for (const [i, d] of w.entries()) {
    if (!(Number.isInteger(d) && d >= 1)) throw new Error(`MLP width ${i} is ${d}, expected an integer ≥ 1`);
  }
  const params: Record<string, tf.Tensor> = {};
  for (let l = 0; l + 1 < w.length; l++) {
    params[`dense${l}/kernel`] = tf.randomNormal([w[l]!, w[l + 1]!], 0, Math.sqrt(2 / w[l]!), 'float32', seed * 1000 + l);
    params[`dense${l}/bias`] = tf.zeros([w[l + 1]!]);
  }
  return params;
}

/** Logits of `x` (n × inputDim). */
export function mlpLogits(params: Params, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let h: tf.Tensor2D = x;
    for (let l = 0; ; l++) {
      const k = params[`dense${l}/kernel`] as tf.Tensor2D | undefined;
      if (!k) return h;
      const z = tf.add(tf.matMul(h, k), params[`dense${l}/bias`]!) as tf.Tensor2D;
      h = params[`dense${l + 1}/kernel`] ? tf.relu(z) : z;
    }
  });
}

/** The mean softmax cross-entropy on (x, y one-hot), as a function of the parameters. */
export const mlpLoss =
  (x: tf.Tensor2D, y: tf.Tensor2D) =>
  (params: Params): tf.Scalar =>
    softmaxCrossEntropy(mlpLogits(params, x), y);

/** Fraction of `x` whose arg-max logit is the one-hot label's class. */
export function accuracy(params: Params, x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(mlpLogits(params, x), 1), tf.argMax(y, 1)), 'float32')));
}
