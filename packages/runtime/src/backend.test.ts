import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';

describe('initRuntime', () => {
  it('registers gradients so tf.grads works on the cpu backend', async () => {
    await initRuntime({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    // d/dx (x^2 / 2) = x; RealDiv's gradient is the one the stock Node entry lacks.
    const g = tf.grad((x: tf.Tensor) => tf.div(tf.square(x), 2))(tf.tensor1d([3, -1]));
    expect(Array.from(g.dataSync())).toEqual([3, -1]);
  });
});
