/**
 * Twice-differentiable gradients for the Softmax and LogSoftmax kernels.
 *
 *   softmax:    y = softmax(z),  dz = y ⊙ dy − y · Σ_dim(y ⊙ dy)
 *   logSoftmax: y = z − logΣexp(z), dz = dy − softmax(z) · Σ_axis dy
 *
 * Both recompute y from the saved logits (see elementwise.ts for why a saved output is
 * wrong under double back-propagation). Note that `tf.logSoftmax` and
 * `tf.losses.softmaxCrossEntropy` are `customGrad` ops in tfjs 4.22 and do not reach these
 * kernels' gradients; use this package's `logSoftmax` and `softmaxCrossEntropy` instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideGradient } from './register';

export function registerSoftmaxGradients(): void {
  overrideGradient({
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => {
      const [logits] = saved as tf.Tensor[];
      const dim = (attrs as unknown as { dim: number }).dim;
      return {
        logits: () => {
          const y = tf.softmax(logits!, dim);
          const dyy = tf.mul(dy as tf.Tensor, y);
          return tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y));
        },
      };
    },
  });
  overrideGradient({
    kernelName: 'LogSoftmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => {
      const [logits] = saved as tf.Tensor[];
      const axis = (attrs as unknown as { axis: number }).axis;
      return {
        logits: () => {
          const d = dy as tf.Tensor;
          return tf.sub(d, tf.mul(tf.sum(d, axis, true), tf.softmax(logits!, axis)));
        },
      };
    },
  });
}
