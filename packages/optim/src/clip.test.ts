import * as tf from '@tensorflow/tfjs-core';
import { dispose } from '@lets/tree';
import { clip, clipByGlobalNorm } from './clip';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('clipByGlobalNorm', () => {
  // ‖g‖ = √(3² + 4² + 12²) = 13
  const g = () => ({ a: tf.tensor1d([3, 4]), b: tf.scalar(12) });

  it('leaves updates alone below the threshold', () => {
    const x = g();
    for (const max of [13, 20]) {
      const [u] = clipByGlobalNorm(max).update(x, {});
      expect(vals(u)).toEqual(vals(x));
      dispose(u);
    }
    dispose(x);
  });

  it('rescales to the threshold above it: g·max/‖g‖', () => {
    const x = g();
    const [u] = clipByGlobalNorm(6.5).update(x, {});
    const v = vals(u);
    // 3/2, 4/2, 12/2; float32 division: 6 digits
    expect(v.a![0]).toBeCloseTo(1.5, 6);
    expect(v.a![1]).toBeCloseTo(2, 6);
    expect(v.b![0]).toBeCloseTo(6, 5);
    [x, u].forEach(dispose);
  });

  it('keeps a zero tree zero and refuses a non-positive threshold', () => {
    const z = { a: tf.zeros([3]) };
    const [u] = clipByGlobalNorm(1).update(z, {});
    expect(vals(u).a).toEqual([0, 0, 0]);
    [z, u].forEach(dispose);
    expect(() => clipByGlobalNorm(0)).toThrow(/maxNorm must be a positive number, got 0/);
  });
});

describe('clip', () => {
  it('clips element-wise to [−d, d]', () => {
    const x = { a: tf.tensor1d([-3, -0.5, 0.5, 3]) };
    const [u] = clip(1).update(x, {});
    expect(vals(u).a).toEqual([-1, -0.5, 0.5, 1]);
    [x, u].forEach(dispose);
    expect(() => clip(-1)).toThrow(/maxDelta must be a non-negative number, got -1/);
  });
});
