import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@lets/runtime';
import { gradFnOf } from './gradFn';

beforeAll(() => initRuntime({ backend: 'cpu' }));

describe('gradFnOf', () => {
  it('gives the loss and the gradient tree of a loss of the params, in canonical order', () => {
    // L(w, b) = Σ a⊙w² + 3·Σ b  ⇒  ∂L/∂w = 2a⊙w, ∂L/∂b = 3
    const a = tf.tensor1d([1, -2, 0.5]);
    const params = { w: tf.tensor1d([3, 1, -4]), b: tf.tensor1d([0.25, 2]) };
    const before = tf.memory().numTensors;
    const { loss, grads } = gradFnOf((p) => tf.add(tf.sum(tf.mul(a, tf.square(p.w!))), tf.mul(3, tf.sum(p.b!))) as tf.Scalar)(params);
    // 9 − 2 + 8 + 3·2.25 = 21.75
    expect(loss.dataSync()[0]).toBeCloseTo(21.75, 5);
    expect(Object.keys(grads)).toEqual(['w', 'b']);
    expect(Array.from(grads.w!.dataSync())).toEqual([6, -4, -4]);
    expect(Array.from(grads.b!.dataSync())).toEqual([3, 3]);
    // only the loss and the two gradients survive
    expect(tf.memory().numTensors - before).toBe(3);
    tf.dispose([loss, grads.w!, grads.b!, a, params.w, params.b]);
  });
});
