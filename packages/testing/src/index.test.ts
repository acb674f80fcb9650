import * as tf from '@tensorflow/tfjs-core';
import { lcg, lcgTensor, setupCpu } from './index';

beforeAll(setupCpu);

describe('@lets/testing', () => {
  it('setupCpu starts the cpu backend through initRuntime (gradients registered)', () => {
    expect(tf.getBackend()).toBe('cpu');
    const g = tf.grad((x: tf.Tensor) => tf.mean(tf.square(x)))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([1, 2]);
  });

  it('lcg is the fixed LCG: values by hand, in [-1, 1), reproducible', () => {
    // s1 = 1013904223 (seed 0): 1013904223 / 2^31 − 1; s2 = (1664525·s1 + 1013904223) mod 2^32 = 1196435762
    const r = lcg(0);
    expect(r()).toBe(1013904223 / 2 ** 31 - 1);
    expect(r()).toBe(1196435762 / 2 ** 31 - 1);
    const xs = Array.from({ length: 1000 }, lcg(7));
    expect(xs.every((x) => x >= -1 && x < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, lcg(7))).toEqual(xs);
  });

  it('lcgTensor holds the scaled draws in order and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const t = lcgTensor([2, 3], 5, 0.5);
    const r = lcg(5);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(Float32Array.from({ length: 6 }, () => r() * 0.5)));
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
