import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lets/runtime';
import type { Params } from '@lets/tree';
import { hessianEigenvalues } from './eigenvalues';
import { hessianOperator, lossAt, type SharpnessProblem } from './problem';
import { hessianTrace } from './trace';
import { matVec, powerMax, setupCpu, type Matrix } from './test-util';

beforeAll(setupCpu);

// Logistic regression L(w, b) = (1/n) Σ softplus(z_i) − y_i z_i, z_i = x_iᵀw + b, whose Hessian
// is (1/n) Σ p_i(1 − p_i) x̃_i x̃_iᵀ with x̃ = (x, 1) and p = σ(z): computed here by hand.
const N = 40;
const D = 3;
const rng = new Rng(11);
const xs = Array.from({ length: N }, () => Array.from({ length: D }, () => rng.nextFloat() * 4 - 2));
const ys = xs.map((x) => (x[0]! - 0.5 * x[1]! + 0.3 * rng.nextFloat() > 0 ? 1 : 0));
const W = [0.8, -0.4, 0.2];
const B = 0.1;

const handHessian = (): Matrix => {
  const H: Matrix = Array.from({ length: D + 1 }, () => Array.from({ length: D + 1 }, () => 0));
  for (const x of xs) {
    const z = x.reduce((s, xi, i) => s + xi * (W[i] as number), B);
    const p = 1 / (1 + Math.exp(-z));
    const xt = [...x, 1];
    for (let i = 0; i <= D; i++) for (let j = 0; j <= D; j++) H[i]![j]! += (p * (1 - p) * (xt[i] as number) * (xt[j] as number)) / N;
  }
  return H;
};

/** Two chunks of 25 and 15 examples, weighted by their share. */
const problemOf = (): SharpnessProblem => {
  const chunk = (lo: number, hi: number) => {
    const x = tf.tensor2d(xs.slice(lo, hi));
    const y = tf.tensor1d(ys.slice(lo, hi));
    return {
      lossFn: (p: Params): tf.Scalar =>
        tf.tidy(() => {
          const z = tf.add(tf.reshape(tf.matMul(x, tf.reshape(p['w']!, [D, 1])), [-1]), p['b']!);
          return tf.mean(tf.sub(tf.softplus(z), tf.mul(y, z))) as tf.Scalar;
        }),
      weight: (hi - lo) / N,
      tensors: [x, y],
    };
  };
  const cs = [chunk(0, 25), chunk(25, N)];
  return { params: { w: tf.tensor1d(W), b: tf.scalar(B) }, chunks: cs };
};

describe('on a logistic regression with its Hessian computed by hand', () => {
  const H = handHessian();
  let problem: SharpnessProblem;
  beforeAll(() => {
    problem = problemOf();
  });

  it('H·v matches the hand Hessian', () => {
    const v = [0.3, -1, 0.5, 2];
    const op = hessianOperator(problem);
    const vt = { w: tf.tensor1d(v.slice(0, 3)), b: tf.scalar(v[3] as number) };
    const hv = op.apply(vt);
    const got = [...hv['w']!.dataSync(), ...hv['b']!.dataSync()];
    matVec(H, v).forEach((x, i) => expect(got[i]).toBeCloseTo(x, 5));
    expect(op.estimator()).toBe('exact');
    [vt, hv].forEach((t) => Object.values(t).forEach((x) => x.dispose()));
  });

  it('λ_max within 1e-3 and the trace within 5%', () => {
    const before = tf.memory().numTensors;
    const eig = hessianEigenvalues(problem, { seed: 0, tol: 1e-6 });
    const tr = hessianTrace(problem, { maxSamples: 300, tol: 0.01, seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    const lmax = powerMax(H);
    expect(Math.abs((eig.values[0] as number) - lmax) / lmax).toBeLessThan(1e-3);
    const trace = H.reduce((s, r, i) => s + (r[i] as number), 0);
    expect(Math.abs(tr.trace - trace) / trace).toBeLessThan(0.05);
    expect(lossAt(problem)).toBeGreaterThan(0);
  });
});
