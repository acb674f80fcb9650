import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { applyIfFinite } from './applyIfFinite';
import { trace } from './trace';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('applyIfFinite', () => {
  it('skips NaN/Inf updates (zeros, inner state kept) and counts them', () => {
    const t = applyIfFinite(trace({ decay: 0.5 }));
    const p = { w: tf.tensor1d([0, 0]), b: tf.scalar(0) };
    let s = t.init(p);
    const before = tf.memory().numTensors;
    const steps: [number[], number, number[], number[], number, number][] = [
      // g(w), g(b), expected u(w), expected buf(w), consecutive, total
      [[2, 4], 1, [2, 4], [2, 4], 0, 0],
      [[NaN, 4], 1, [0, 0], [2, 4], 1, 1],
      [[2, 4], Infinity, [0, 0], [2, 4], 2, 2],
      [[2, 4], 1, [3, 6], [3, 6], 0, 2],
    ];
    for (const [gw, gb, uw, bw, cons, total] of steps) {
      const x = { w: tf.tensor1d(gw), b: tf.scalar(gb) };
      const [u, s2] = t.update(x, s);
      expect(vals(u).w).toEqual(uw);
      expect(vals(s2.inner.trace).w).toEqual(bw);
      expect([s2.notFiniteCount, s2.totalNotFinite, s2.lastFinite]).toEqual([cons, total, cons === 0]);
      dispose(x);
      dispose(u);
      disposeState(s);
      s = s2;
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeState(s);
    dispose(p);
  });

  it('applies anyway after more than maxConsecutiveErrors skips (optax semantics)', () => {
    const t = applyIfFinite(trace({ decay: 0 }), { maxConsecutiveErrors: 1 });
    const p = { w: tf.scalar(0) };
    let s = t.init(p);
    const applied: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const x = { w: tf.scalar(NaN) };
      const [u, s2] = t.update(x, s);
      applied.push(Number.isNaN(vals(u).w![0]));
      [x, u].forEach(dispose);
      disposeState(s);
      s = s2;
    }
    // counts before each call: 0 (skip), 1 (skip), 2 > 1 (apply)
    expect(applied).toEqual([false, false, true]);
    expect(s.totalNotFinite).toBe(3);
    disposeState(s);
    dispose(p);
  });
});
