/**
 * A SAM step's `descent` (g_p ↦ updates, the map LETS differentiates) declares optim's
 * `gradientScale` exactly where it is affine in g_p with Jacobian c·I: the outer optimizer
 * declares one and the combiner is SAM's d = g_p (or the procedure hands g_p on as it is).
 * Checked for every preset against the map itself: descent.update(g_p + w) − descent.update(g_p)
 * = c·w in float64 on the host, at a state two steps in (a non-zero momentum buffer, a learning
 * rate past its first value). GSAM's and StableSAM's combiners are not affine in g_p and must
 * not declare it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import { sgd, adam } from '@lets/optim';
import { SAM_PRESETS } from './registry';
import { esam } from './presets';
import { W0, hmap, quadratic, setup, toHost, toTree } from './test-util';

beforeAll(setup);

const lr = (t: number) => 0.1 / (1 + t);
const NOT_AFFINE = ['gsam', 'stable-sam'];
const names = Object.keys(SAM_PRESETS) as (keyof typeof SAM_PRESETS)[];

describe('descent.gradientScale of every preset', () => {
  it.each(names)('%s', (name) => {
    const q = quadratic();
    const outer = sgd(lr, { momentum: 0.9, weightDecay: 1e-3 });
    // ESAM's sharpness-sensitive data needs per-example losses (its own test in variants.test.ts);
    // here it runs with its data selection off (γ = 1: every example), which keeps its combiner.
    const opt = name === 'esam' ? esam(outer, { rho: 0.05, gamma: 1 }) : SAM_PRESETS[name].build(outer, { rho: 0.05, lr, totalSteps: 20 });
    const before = tf.memory().numTensors;
    let params = toTree(W0);
    let state = opt.init(params);
    for (let t = 0; t < 3; t++) {
      const clean = q.gradFn(params);
      const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn, loss: clean.loss });
      if (t === 2) {
        const declared = s.descent.gradientScale;
        expect([name, declared === undefined]).toEqual([name, NOT_AFFINE.includes(name)]);
        if (declared !== undefined) {
          const c = declared(state.outer, params, {});
          expect(c).toBeCloseTo(-lr(2), 12); // SGD's −lr at the outer's count, times d = g_p's 1
          const w = hmap(W0, (_x, i, k) => (k.length % 3) - 0.4 * i + 0.2);
          const wt = toTree(w);
          const gpw = T.add(s.perturbedGrads, wt);
          const [u0, s0] = s.descent.update(s.perturbedGrads, state.outer, params, {});
          const [u1, s1] = s.descent.update(gpw, state.outer, params, {});
          const [h0, h1] = [toHost(u0), toHost(u1)];
          for (const k of Object.keys(w)) {
            w[k]!.forEach((wi, i) => expect(Math.abs(h1[k]![i]! - h0[k]![i]! - c * wi)).toBeLessThan(1e-6));
          }
          [wt, gpw, u0, u1].forEach(T.dispose);
          T.disposeState(s0);
          T.disposeState(s1);
        }
      }
      const p2 = T.add(params, s.updates);
      [s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
      clean.loss.dispose();
      T.disposeState(state);
      state = s.state;
      params = p2;
    }
    T.dispose(params);
    T.disposeState(state);
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
  });

  it('an adaptive outer optimizer (Adam) declares none, whatever the preset', () => {
    const q = quadratic();
    const opt = SAM_PRESETS.sam.build(adam(1e-3), { rho: 0.05 });
    const params = toTree(W0);
    const state = opt.init(params);
    const clean = q.gradFn(params);
    const s = opt.step(clean.grads, state, params, { gradFn: q.gradFn, loss: clean.loss });
    expect(s.descent.gradientScale).toBeUndefined();
    [s.updates, s.direction, s.perturbedGrads, clean.grads, params].forEach(T.dispose);
    clean.loss.dispose();
    T.disposeState(state);
    T.disposeState(s.state);
    q.dispose();
  });
});
