import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { multiSteps } from './multiSteps';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('multiSteps', () => {
  it('emits zeros for k−1 calls, then the inner update of the mean, and repeats', () => {
    // inner: momentum 0.5. Gradients 1, 2, 6 → mean 3 → buf 3 → u 3; then 3, 3, 3 → mean 3 → buf 0.5·3 + 3 = 4.5
    const t = multiSteps(trace({ decay: 0.5 }), 3);
    const p = { w: tf.tensor1d([0]) };
    let s = t.init(p);
    const before = tf.memory().numTensors;
    const want = [0, 0, 3, 0, 0, 4.5];
    [1, 2, 6, 3, 3, 3].forEach((g, i) => {
      const x = { w: tf.tensor1d([g]) };
      const [u, s2] = t.update(x, s);
      expect(vals(u).w).toEqual([want[i]]);
      // the inner state moves only on every third call
      expect(vals(s2.inner.trace).w).toEqual([i < 2 ? 0 : i < 5 ? 3 : 4.5]);
      expect(s2.miniStep).toBe((i + 1) % 3);
      dispose(x);
      dispose(u);
      disposeState(s);
      s = s2;
    });
    expect(tf.memory().numTensors).toBe(before);
    disposeState(s);
    dispose(p);
  });

  it('refuses k that is not a positive integer', () => {
    expect(() => multiSteps(trace({ decay: 0.5 }), 0)).toThrow(/k must be a positive integer, got 0/);
    expect(() => multiSteps(trace({ decay: 0.5 }), 1.5)).toThrow(/got 1.5/);
  });
});
