import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState } from '@lets/tree';
import { injectHyperparams, setHyperparams } from './injectHyperparams';
import { sgd } from './alias';
import { useCpu, vals } from './test-util';

beforeAll(useCpu);

describe('injectHyperparams', () => {
  const factory = (h: { learningRate: number; momentum: number }) => sgd(h.learningRate, { momentum: h.momentum });

  it('exposes numbers in state.hyperparams and uses an overwrite on the next update', () => {
    const opt = injectHyperparams(factory, { learningRate: 0.5, momentum: 0 });
    const p = { w: tf.tensor1d([1, 2]) };
    const g = { w: tf.tensor1d([2, -4]) };
    const s0 = opt.init(p);
    expect(s0.hyperparams).toEqual({ learningRate: 0.5, momentum: 0 });
    const [u1, s1] = opt.update(g, s0, p);
    expect(vals(u1)).toEqual({ w: [-1, 2] });
    expect(s1.count).toBe(1);
    const s1b = setHyperparams(s1, { learningRate: 0.25, momentum: 0.5 });
    expect(s1b.hyperparams).toEqual({ learningRate: 0.25, momentum: 0.5 });
    // buf = 0.5·g + g = 1.5g; u = −0.25·1.5g
    const [u2, s2] = opt.update(g, s1b, p);
    expect(vals(u2)).toEqual({ w: [-0.75, 1.5] });
    expect(s2.hyperparams.learningRate).toBe(0.25);
    expect(() => setHyperparams(s2, { rho: 1 } as never)).toThrow(/no hyperparameter 'rho' \(have learningRate, momentum\)/);
    expect(() => setHyperparams(s2, { learningRate: NaN })).toThrow(/'learningRate' must be a finite number, got NaN/);
    [p, g, u1, u2].forEach(dispose);
    [s0, s1, s2].forEach(disposeState);
  });

  it('evaluates a schedule at the count and records the value used', () => {
    const opt = injectHyperparams(factory, { learningRate: (c) => 1 / (c + 1), momentum: 0 });
    const p = { w: tf.tensor1d([0]) };
    const g = { w: tf.tensor1d([6]) };
    let s = opt.init(p);
    expect(s.hyperparams.learningRate).toBe(1);
    for (let c = 0; c < 3; c++) {
      const [u, s2] = opt.update(g, s, p);
      expect(vals(u).w?.[0]).toBeCloseTo(-6 / (c + 1), 6);
      expect(s2.hyperparams.learningRate).toBe(1 / (c + 1));
      dispose(u);
      disposeState(s);
      s = s2;
    }
    disposeState(s);
    [p, g].forEach(dispose);
  });

  it('rejects a hyperparameter that is not a number or a schedule', () => {
    expect(() => injectHyperparams(factory, { learningRate: '1' as never, momentum: 0 })).toThrow(/'learningRate' must be a finite number or a schedule, got 1/);
  });
});
