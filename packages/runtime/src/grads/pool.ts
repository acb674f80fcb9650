/**
 * Gradients of the pooling backprop kernels, so pooling layers are twice differentiable.
 *
 * AvgPoolGrad(dy, x) is linear in dy and does not depend on x's values; it spreads dy[o]
 * over window o's n(o) in-image cells (the runtime's cpu/wasm kernel, see
 * kernels/avg_pool_grad.ts), so its adjoint averages each window of dd, i.e. avgPool:
 *   ∂⟨dd, AvgPoolGrad(dy)⟩/∂dy = avgPool(dd),  ∂/∂x = 0.
 * MaxPoolGrad(dy, x, y) scatters dy to each window's argmax; it is linear in dy and piecewise
 * constant in x and y, so its adjoint gathers dd at the same argmax positions:
 *   ∂⟨dd, MaxPoolGrad(dy)⟩/∂dy[o] = dd[argmax(o)],  ∂/∂x = ∂/∂y = 0,
 * with argmax taken from tf.maxPoolWithArgmax (which picks the same element as MaxPoolGrad
 * when a window has ties: checked by the adjoint test in pool.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideGradient } from './register';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function registerPoolGradients(): void {
  overrideGradient({
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['dy', 'input'],
    gradFunc: (dd, saved, attrs) => {
      const [, input] = saved as tf.Tensor[];
      const a = attrs as unknown as PoolAttrs;
      return {
        dy: () => tf.avgPool(dd as tf.Tensor4D, a.filterSize, a.strides, a.pad, a.dimRoundingMode),
        input: () => tf.zerosLike(input!),
      };
    },
  });
  overrideGradient({
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (dd, saved, attrs) => {
      const [dy, input, output] = saved as tf.Tensor[];
      const a = attrs as unknown as PoolAttrs;
      return {
        dy: () => {
          if (a.dimRoundingMode !== undefined) {
            throw new Error('second-order gradient of maxPool: dimRoundingMode is not supported');
          }
          const indexes = tf.maxPoolWithArgmax(input as tf.Tensor4D, a.filterSize, a.strides, a.pad, true)['indexes']!;
          const flat = tf.reshape(dd as tf.Tensor, [-1]);
          return tf.reshape(tf.gather(flat, tf.reshape(indexes, [-1])), dy!.shape);
        },
        input: () => tf.zerosLike(input!),
        output: () => tf.zerosLike(output!),
      };
    },
  });
}
