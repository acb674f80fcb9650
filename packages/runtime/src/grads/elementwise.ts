/**
 * Twice-differentiable gradients for elementwise ops whose stock tfjs gradient reads the
 * op's saved *output*.
 *
 * Why: tfjs saves outputs for the backward pass with `clone()`, whose tape node is pushed
 * before the op's own node; the outer pass of a double back-propagation therefore treats
 * the saved output as a constant, and d/dx of the gradient silently loses the term through
 * y(x) (measured relative errors 0.25 for exp, 0.81 sigmoid, 0.73 tanh). These configs save
 * the *input* and recompute y from it inside the gradient, so every term is on the tape:
 *
 *   exp:     dx = dy · exp(x)
 *   sigmoid: dx = dy · σ(x)(1 − σ(x))
 *   tanh:    dx = dy · (1 − tanh²(x))
 *   elu:     dx = dy · (x > 0 ? 1 : exp(x))           (tfjs's EluGrad kernel has no gradient)
 *   pow:     da = dy · b·a^(b−1),  db = dy · a^b · log a  (a > 0, else 0)
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideGradient } from './register';

export function registerElementwiseGradients(): void {
  overrideGradient({
    kernelName: 'Exp',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.exp(x!)) };
    },
  });
  overrideGradient({
    kernelName: 'Sigmoid',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return {
        x: () => {
          const y = tf.sigmoid(x!);
          return tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y)));
        },
      };
    },
  });
  overrideGradient({
    kernelName: 'Tanh',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return {
        x: () => {
          const y = tf.tanh(x!);
          return tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(y)));
        },
      };
    },
  });
  overrideGradient({
    kernelName: 'Elu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return {
        x: () => {
          const slope = tf.where(tf.greater(x!, 0), tf.onesLike(x!), tf.exp(x!));
          return tf.mul(dy as tf.Tensor, slope);
        },
      };
    },
  });
  overrideGradient({
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      const d = dy as tf.Tensor;
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      const reduceTo = (t: tf.Tensor, shape: number[]): tf.Tensor => {
        const axes = tf.backend_util.getReductionAxes(shape, outShape);
        return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape);
      };
      return {
        a: () => {
          const bf = tf.cast(b!, 'float32');
          return reduceTo(tf.mul(d, tf.mul(bf, tf.pow(a!, tf.sub(bf, 1)))), a!.shape);
        },
        b: () => {
          const positive = tf.greater(a!, 0);
          const logA = tf.where(positive, tf.log(tf.where(positive, a!, tf.onesLike(a!))), tf.zerosLike(a!));
          return reduceTo(tf.mul(d, tf.mul(tf.pow(a!, b!), logA)), b!.shape);
        },
      };
    },
  });
}
