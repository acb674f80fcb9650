/**
 * Zero gradients for comparison and logical ops.
 *
 * Why: they are piecewise constant, so their derivative is 0 almost everywhere. tfjs 4.22
 * registers none for Greater, Less, Equal, ... and the outer pass of a double
 * back-propagation through leakyRelu, max, logSumExp or clipByValue (whose gradients use
 * these ops as masks) throws "gradient function not found for Greater".
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideGradient } from './register';

const BINARY = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'];

export function registerComparisonGradients(): void {
  for (const kernelName of BINARY) {
    overrideGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as tf.Tensor[];
        return { a: () => tf.cast(tf.zerosLike(a!), 'float32'), b: () => tf.cast(tf.zerosLike(b!), 'float32') };
      },
    });
  }
  overrideGradient({
    kernelName: 'LogicalNot',
    inputsToSave: ['x'],
    gradFunc: (_dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.cast(tf.zerosLike(x!), 'float32') };
    },
  });
}
