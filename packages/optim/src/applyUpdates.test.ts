import * as tf from '@tensorflow/tfjs-core';
import { dispose } from '@lets/tree';
import { applyUpdates } from './applyUpdates';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('applyUpdates', () => {
  it('adds updates to params and leaves both alone', () => {
    const p = { w: tf.tensor1d([1, 2]), b: tf.scalar(-1) };
    const u = { w: tf.tensor1d([0.5, -2]), b: tf.scalar(1) };
    const out = applyUpdates(p, u);
    expect(vals(out)).toEqual({ w: [1.5, 0], b: [0] });
    expect(vals(p)).toEqual({ w: [1, 2], b: [-1] });
    expect(() => applyUpdates(p, { w: u.w })).toThrow(/first has 'b', second has nothing/);
    [p, u, out].forEach(dispose);
  });
});
