import * as tf from '@tensorflow/tfjs-core';
import { defineModel } from '../model';
import { disposeTree, tensorGrowth, useCpu } from '../test-util';
import { batchNorm, batchNormSpecs } from './batchNorm';

beforeAll(useCpu);

// A one-layer model around batchNorm, so the test goes through the same state plumbing as the
// real models (apply → setState → returned state).
const bnModel = (channels: number, momentum = 0.1, epsilon = 1e-5) => {
  const s = batchNormSpecs('bn', channels);
  return defineModel({
    name: 'bn',
    inputShape: [2, 2, channels],
    inputDtype: 'float32',
    numClasses: channels,
    params: s.params,
    state: s.state,
    usesDropout: false,
    forward: (ctx, x) => batchNorm(ctx, 'bn', x, { momentum, epsilon }),
  });
};

// x: [3, 2, 2, 2] so each channel has n = 12 values.
const xs = Array.from({ length: 24 }, (_, i) => Math.sin(1.7 * i) * 3 + (i % 2 === 0 ? 1 : -2));
const channel = (c: number): number[] => xs.filter((_, i) => i % 2 === c);
const meanOf = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const varOf = (v: number[]): number => meanOf(v.map((a) => (a - meanOf(v)) ** 2));

describe('batchNorm', () => {
  it('training mode: normalizes with batch moments and updates running stats (torch convention)', () => {
    const m = bnModel(2, 0.1, 1e-5);
    const gamma = [1.5, -0.5];
    const beta = [0.25, 2];
    const params = { 'bn/gamma': tf.tensor1d(gamma), 'bn/beta': tf.tensor1d(beta) };
    const rm0 = [0.3, -0.7];
    const rv0 = [2, 0.5];
    const state = { 'bn/mean': tf.tensor1d(rm0), 'bn/variance': tf.tensor1d(rv0) };
    const x = tf.tensor4d(xs, [3, 2, 2, 2]);
    const r = m.apply(params, state, x, { training: true });
    const y = r.logits.dataSync();
    const rm = r.state['bn/mean']!.dataSync();
    const rv = r.state['bn/variance']!.dataSync();
    for (const c of [0, 1]) {
      const v = channel(c);
      const mu = meanOf(v);
      const s2 = varOf(v);
      // Values are O(1–10): float32 moments agree with float64 to ~1e-5 relative.
      v.forEach((xv, j) => {
        const want = (gamma[c] as number) * ((xv - mu) / Math.sqrt(s2 + 1e-5)) + (beta[c] as number);
        expect(y[2 * j + c]).toBeCloseTo(want, 4);
      });
      expect(rm[c]).toBeCloseTo(0.9 * (rm0[c] as number) + 0.1 * mu, 5);
      expect(rv[c]).toBeCloseTo(0.9 * (rv0[c] as number) + 0.1 * s2 * (12 / 11), 4);
    }
    // Inputs untouched.
    expect(Array.from(state['bn/mean'].dataSync())).toEqual(rm0.map(Math.fround));
    r.logits.dispose();
    disposeTree(r.state);
    disposeTree(params);
    disposeTree(state);
    x.dispose();
  });

  it('eval mode: uses the running stats and returns them unchanged (as new tensors)', () => {
    const m = bnModel(2);
    const gamma = [2, 0.5];
    const beta = [-1, 1];
    const rm0 = [0.3, -0.7];
    const rv0 = [2, 0.5];
    const params = { 'bn/gamma': tf.tensor1d(gamma), 'bn/beta': tf.tensor1d(beta) };
    const state = { 'bn/mean': tf.tensor1d(rm0), 'bn/variance': tf.tensor1d(rv0) };
    const x = tf.tensor4d(xs, [3, 2, 2, 2]);
    const r = m.apply(params, state, x, { training: false });
    const y = r.logits.dataSync();
    xs.forEach((xv, i) => {
      const c = i % 2;
      const want = (gamma[c] as number) * ((xv - (rm0[c] as number)) / Math.sqrt((rv0[c] as number) + 1e-5)) + (beta[c] as number);
      expect(y[i]).toBeCloseTo(want, 4);
    });
    expect(Array.from(r.state['bn/mean']!.dataSync())).toEqual(rm0.map(Math.fround));
    expect(Array.from(r.state['bn/variance']!.dataSync())).toEqual(rv0.map(Math.fround));
    expect(r.state['bn/mean']).not.toBe(state['bn/mean']);
    r.logits.dispose();
    disposeTree(r.state);
    // The caller may dispose the old state: the returned one is independent.
    disposeTree(state);
    disposeTree(params);
    x.dispose();
  });

  it('gradient w.r.t. γ, β and through the batch statistics matches central finite differences', () => {
    // loss = Σ w ⊙ BN(x) for a fixed random w; direction derivative along a random unit v in (γ, β).
    const m = bnModel(2);
    const { params, state } = m.init(0);
    const x = tf.tensor4d(xs, [3, 2, 2, 2]);
    const w = tf.tensor4d(xs.map((a, i) => Math.cos(i * 0.9)), [3, 2, 2, 2]);
    const loss = (g: tf.Tensor, b: tf.Tensor, xin: tf.Tensor): tf.Scalar =>
      tf.tidy(() => tf.sum(tf.mul(m.apply({ 'bn/gamma': g, 'bn/beta': b }, state, xin, { training: true }).logits, w)) as tf.Scalar);
    const gp = tf.tensor1d([1.3, 0.7]);
    const bp = tf.tensor1d([0.1, -0.2]);
    const [dg, db, dx] = tf.grads((g: tf.Tensor, b: tf.Tensor, xin: tf.Tensor) => loss(g, b, xin))([gp, bp, x]);
    // Input gradient through μ and σ² (the interesting part): FD along a fixed direction.
    const dir = tf.tensor4d(xs.map((_, i) => Math.sin(i * 2.3)), [3, 2, 2, 2]);
    const eps = 1e-2;
    const fd = tf.tidy(() => {
      const up = loss(gp, bp, tf.add(x, tf.mul(dir, eps))).dataSync()[0] as number;
      const dn = loss(gp, bp, tf.sub(x, tf.mul(dir, eps))).dataSync()[0] as number;
      return (up - dn) / (2 * eps);
    });
    const analytic = tf.sum(tf.mul(dx!, dir)).dataSync()[0] as number;
    // float32 central differences with eps 1e-2 on O(10) sums: ~1e-3 relative noise; allow 1e-2.
    expect(Math.abs(analytic - fd)).toBeLessThan(1e-2 * Math.max(1, Math.abs(fd)));
    // dβ = Σ w over each channel exactly.
    const wv = w.dataSync();
    [0, 1].forEach((c) => {
      const s = Array.from(wv).filter((_, i) => i % 2 === c).reduce((a, b) => a + b, 0);
      expect(db!.dataSync()[c]).toBeCloseTo(s, 4);
    });
    expect(dg!.shape).toEqual([2]);
    [x, w, gp, bp, dg!, db!, dx!, dir].forEach((t) => t.dispose());
    disposeTree(params);
    disposeTree(state);
  });

  it('leaks nothing', () => {
    const m = bnModel(2);
    const { params, state } = m.init(0);
    const x = tf.tensor4d(xs, [3, 2, 2, 2]);
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    disposeTree(params);
    disposeTree(state);
  });
});
