import * as tf from '@tensorflow/tfjs-core';
import { dispose } from '@lets/tree';
import { addDecayedWeights } from './addDecayedWeights';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('addDecayedWeights', () => {
  const g = () => ({ w: tf.tensor1d([1, 2]), b: tf.tensor1d([3]) });
  const p = () => ({ w: tf.tensor1d([10, -20]), b: tf.tensor1d([30]) });

  it('adds wd·w (number or schedule)', () => {
    const [x, w] = [g(), p()];
    const t = addDecayedWeights(0.1);
    const [u, s] = t.update(x, t.init(w), w);
    // 1 + 0.1·10 = 2, 2 − 2 = 0, 3 + 3 = 6
    expect(vals(u)).toEqual({ w: [2, 0], b: [6] });
    expect(s).toEqual({ count: 1 });
    const [u2] = addDecayedWeights((c) => c).update(x, { count: 2 }, w);
    expect(vals(u2)).toEqual({ w: [21, -38], b: [63] });
    [x, w, u, u2].forEach(dispose);
  });

  it('with a mask (predicate or boolean tree) leaves the other leaves unchanged', () => {
    const [x, w] = [g(), p()];
    for (const mask of [(path: string) => path === 'w', { w: true, b: false }]) {
      const t = addDecayedWeights(0.1, { mask });
      const s = t.init(w);
      const [u] = t.update(x, s, w);
      expect(vals(u)).toEqual({ w: [2, 0], b: [3] });
      expect(u.b).not.toBe(x.b);
      dispose(u);
    }
    expect(() => addDecayedWeights(0.1, { mask: { w: true } }).init(w)).toThrow(/mask has no boolean for 'b'/);
    [x, w].forEach(dispose);
  });

  it('needs params and a non-negative weight decay', () => {
    const x = g();
    expect(() => addDecayedWeights(0.1).update(x, { count: 0 })).toThrow(/addDecayedWeights: params are required/);
    expect(() => addDecayedWeights(-1)).toThrow(/weightDecay must be a non-negative number or a schedule, got -1/);
    dispose(x);
  });
});
