import * as tf from '@tensorflow/tfjs-core';
import { dispose, disposeState, tensorsOf } from '@lets/tree';
import { pool } from './test-util-pool';
import { chain } from './chain';
import { clipByGlobalNorm } from './clip';
import { addDecayedWeights } from './addDecayedWeights';
import { adam } from './alias';
import { applyUpdates } from './applyUpdates';
import { hostTree, rng, toTree, useCpu, vals } from './test-util';

beforeAll(useCpu);

const shapes = { l0: [2, 3], l1: [3], l2: [1] };

describe('the ownership contract, for every transform', () => {
  it.each(Object.keys(pool()))('%s: leaves inputs alone, returns only new tensors, leaks nothing', (name) => {
    const t = pool()[name]!;
    const r = rng(11);
    let params = toTree(hostTree(shapes, r), shapes);
    let state = t.init(params);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const g = toTree(hostTree(shapes, r), shapes);
      const gv = vals(g);
      const pv = vals(params);
      const oldTensors = new Set<tf.Tensor>([...Object.values(g), ...Object.values(params), ...tensorsOf(state)]);
      const [u, s] = t.update(g, state, params, { step: i, somethingUnknown: 'ignored' });
      // inputs neither mutated nor disposed
      expect(vals(g)).toEqual(gv);
      expect(vals(params)).toEqual(pv);
      // outputs are new tensors, in the params' order
      expect(Object.keys(u)).toEqual(Object.keys(params));
      for (const x of [...Object.values(u), ...tensorsOf(s)]) expect(oldTensors.has(x)).toBe(false);
      const next = applyUpdates(params, u);
      dispose(g);
      dispose(u);
      dispose(params);
      disposeState(state);
      params = next;
      state = s;
      // the state holds as many tensors as before (the live count is params + state)
      expect(tf.memory().numTensors).toBe(before);
    }
    dispose(params);
    disposeState(state);
  });
});

describe('memory over a long run', () => {
  it('1,000 steps of chain(clipByGlobalNorm, addDecayedWeights, adam) on a 20-tensor tree leave the tensor count unchanged', () => {
    const sh: Record<string, number[]> = {};
    for (let i = 0; i < 20; i++) sh[`layer${i}/${i % 2 === 0 ? 'kernel' : 'bias'}`] = i % 2 === 0 ? [3, 2] : [2];
    const r = rng(5);
    const opt = chain(clipByGlobalNorm(1), addDecayedWeights(1e-4), adam(1e-3));
    const g0 = hostTree(sh, r);
    const p0 = hostTree(sh, r);
    const grads = toTree(g0, sh);
    let params = toTree(p0, sh);
    let state = opt.init(params);
    let afterFirst = -1;
    for (let step = 0; step < 1000; step++) {
      const [u, s] = opt.update(grads, state, params);
      const next = applyUpdates(params, u);
      dispose(u);
      dispose(params);
      disposeState(state);
      params = next;
      state = s;
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(afterFirst);
    // And the run did what it should: with a constant gradient each adam step is lr·m̂/(√v̂ + eps) =
    // lr·sign(g) up to eps and the tiny coupled decay (1e-4·|w| ≪ |g|·(1/‖g‖) ≈ 0.1), and clipping
    // rescales every coordinate alike, so after 1000 steps every weight moved by −sign(g)·1000·1e-3.
    const end = vals(params);
    for (const k of Object.keys(sh)) {
      end[k]!.forEach((w, i) => expect(Math.abs(w - p0[k]![i]! + Math.sign(g0[k]![i]!))).toBeLessThan(0.02));
    }
    dispose(params);
    dispose(grads);
    disposeState(state);
  });
});
