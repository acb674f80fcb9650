import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { partition } from './partition';
import { scale } from './scale';
import { trace } from './trace';
import { addDecayedWeights } from './addDecayedWeights';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('partition', () => {
  const u = () => ({ 'l1/kernel': tf.tensor1d([1, 2]), 'l1/bias': tf.tensor1d([3]), 'l2/kernel': tf.tensor1d([4]) });
  const label = (p: string): 'kernels' | 'biases' => (p.endsWith('bias') ? 'biases' : 'kernels');

  it('routes each leaf to its label’s transform, in canonical order, with state per label', () => {
    const x = u();
    const t = partition({ kernels: trace({ decay: 0.5 }), biases: scale(-1) }, label);
    const s0 = t.init(x);
    expect(Object.keys(s0.kernels.trace)).toEqual(['l1/kernel', 'l2/kernel']);
    const [u1, s1] = t.update(x, s0);
    const [u2, s2] = t.update(x, s1);
    expect(Object.keys(u2)).toEqual(['l1/kernel', 'l1/bias', 'l2/kernel']);
    // kernels: buf g then 1.5g; bias: −g
    expect(vals(u2)).toEqual({ 'l1/kernel': [1.5, 3], 'l1/bias': [-3], 'l2/kernel': [6] });
    [x, u1, u2].forEach(dispose);
    [s0, s1, s2].forEach(disposeState);
  });

  it('gives each transform only its own params; labels may be a tree', () => {
    const x = u();
    const p = { 'l1/kernel': tf.tensor1d([10, 10]), 'l1/bias': tf.tensor1d([10]), 'l2/kernel': tf.tensor1d([10]) };
    const labels = { 'l1/kernel': 'decay', 'l1/bias': 'keep', 'l2/kernel': 'decay' } as const;
    const t = partition({ decay: addDecayedWeights(0.5), keep: scale(1) }, labels);
    const [out, s] = t.update(x, t.init(p), p);
    expect(vals(out)).toEqual({ 'l1/kernel': [6, 7], 'l1/bias': [3], 'l2/kernel': [9] });
    [x, p, out].forEach(dispose);
    disposeState(s);
  });

  it('names a leaf with an unknown label', () => {
    const x = u();
    const t = partition({ a: scale(1) }, () => 'b' as 'a');
    expect(() => t.init(x)).toThrow(/leaf 'l1\/kernel' has label b; expected one of a/);
    dispose(x);
  });
});
