import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';
import { logSoftmax, softmaxCrossEntropy } from './losses';
import { relErrArrays } from './test-util';

describe('softmaxCrossEntropy', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('equals −mean Σ y·log softmax(z) computed by hand in float64', () => {
    const z = [[1, 2, 3], [0.5, -1, 10], [100, 99, -50]];
    const y = [[0, 0, 1], [0.2, 0.3, 0.5], [1, 0, 0]];
    let want = 0;
    for (let b = 0; b < 3; b++) {
      const m = Math.max(...z[b]!);
      const lse = m + Math.log(z[b]!.reduce((s, v) => s + Math.exp(v - m), 0));
      want += z[b]!.reduce((s, v, k) => s - y[b]![k]! * (v - lse), 0) / 3;
    }
    const got = softmaxCrossEntropy(tf.tensor2d(z), tf.tensor2d(y));
    // float32 with logits up to 100: absolute rounding ~1e-5
    expect(Math.abs(got.dataSync()[0]! - want)).toBeLessThan(1e-4);
  });

  it('has gradient (softmax(z) − y) / batch', () => {
    const z = tf.randomNormal([4, 5], 0, 2, 'float32', 1);
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 4, 2, 2], 'int32'), 5), 'float32');
    const g = tf.grad((zz: tf.Tensor) => softmaxCrossEntropy(zz, y))(z);
    const want = tf.div(tf.sub(tf.softmax(z), y), 4);
    expect(relErrArrays(g.dataSync(), want.dataSync())).toBeLessThan(1e-5);
  });

  it('logSoftmax rows exponentiate to probabilities', () => {
    const s = tf.sum(tf.exp(logSoftmax(tf.randomNormal([3, 7], 0, 3, 'float32', 2))), 1);
    for (const v of s.dataSync()) expect(Math.abs(v - 1)).toBeLessThan(1e-5);
  });

  it('rejects mismatched shapes, naming the input', () => {
    expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/labels must have the logits' shape \[2, 3\]/);
    expect(() => softmaxCrossEntropy(tf.zeros([3]), tf.zeros([3]))).toThrow(/logits must be \[batch, classes\]/);
  });
});
