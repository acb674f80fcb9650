import * as tf from '@tensorflow/tfjs-core';
import { dispose, type Params } from '@lets/tree';
import { unrolledHypergradient } from './unrolled';
import { setupCpu } from './test-util';

beforeAll(setupCpu);

// Lower: T steps of gradient descent with step η on L(θ) = ½ θᵀ diag(a) θ, so
// θ_T = (1 − η a)^T ⊙ θ_0 element-wise. Upper: F = ½ ‖θ_T − c‖². Closed form in float64:
// dF/dη = Σ_i (θ_T,i − c_i) · (−T a_i (1 − η a_i)^{T−1} θ_0,i).
const a = [1, 2.5, 0.4];
const theta0 = [1, -0.5, 2];
const c = [0.2, 0.1, -0.3];
const closedForm = (eta: number, T: number) =>
  a.reduce((s, ai, i) => {
    const thT = (1 - eta * ai) ** T * (theta0[i] as number);
    return s + (thT - (c[i] as number)) * (-T * ai * (1 - eta * ai) ** (T - 1) * (theta0[i] as number));
  }, 0);

describe('unrolledHypergradient (reverse accumulation through T steps)', () => {
  it.each([1, 5, 20])('matches the closed form for T = %i, with the step written through tf.grads', (T) => {
    const before = tf.memory().numTensors;
    const params = { w: tf.tensor1d(theta0) };
    const A = tf.tensor1d(a);
    const C = tf.tensor1d(c);
    const eta = 0.3;
    const r = unrolledHypergradient({
      params,
      hyper: [eta],
      steps: T,
      step: (p, _aux, lam) => {
        // The gradient of the lower loss by autodiff, so the result differentiates through it.
        const g = tf.grad((w: tf.Tensor) => tf.mul(0.5, tf.sum(tf.mul(A, tf.square(w)))))(p['w']!);
        return { params: { w: tf.sub(p['w']!, tf.mul(tf.reshape(lam, []), g)) } };
      },
      upper: (p) => tf.mul(0.5, tf.sum(tf.square(tf.sub(p['w']!, C)))) as tf.Scalar,
    });
    // float32 through T steps: relative rounding grows about linearly in T; 1e-4 covers T = 20.
    const ref = closedForm(eta, T);
    expect(Math.abs((r.hypergradient[0] as number) - ref)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref)));
    dispose(params);
    A.dispose();
    C.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('carries auxiliary state (heavy-ball momentum) and several hyperparameters', () => {
    // Scalar lower problem, λ = (η, β): m ← β m + a θ, θ ← θ − η m. Reference: central
    // differences of the same recursion in float64.
    const run = (eta: number, beta: number, T: number) => {
      let th = 1.5;
      let m = 0;
      for (let t = 0; t < T; t++) {
        m = beta * m + 2 * th;
        th = th - eta * m;
      }
      return 0.5 * (th - 0.25) ** 2;
    };
    const T = 6;
    const h = 1e-6;
    const ref = [(run(0.1 + h, 0.5, T) - run(0.1 - h, 0.5, T)) / (2 * h), (run(0.1, 0.5 + h, T) - run(0.1, 0.5 - h, T)) / (2 * h)];
    const params = { w: tf.scalar(1.5) };
    const aux = { m: tf.scalar(0) };
    const r = unrolledHypergradient({
      params,
      aux,
      hyper: [0.1, 0.5],
      steps: T,
      step: (p, x, lam) => {
        const [eta, beta] = tf.unstack(lam);
        const m = tf.add(tf.mul(beta!, x['m']!), tf.mul(2, p['w']!));
        return { params: { w: tf.sub(p['w']!, tf.mul(eta!, m)) }, aux: { m } };
      },
      upper: (p) => tf.mul(0.5, tf.square(tf.sub(p['w']!, 0.25))) as tf.Scalar,
    });
    expect(r.value).toBeCloseTo(run(0.1, 0.5, T), 5);
    r.hypergradient.forEach((g, i) => expect(Math.abs(g - (ref[i] as number))).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref[i] as number))));
    dispose(params);
    dispose(aux);
  });

  it('rejects bad input early', () => {
    const params: Params = { w: tf.scalar(1) };
    const base = { params, step: (p: Params) => ({ params: p }), upper: (p: Params) => p['w'] as tf.Scalar };
    expect(() => unrolledHypergradient({ ...base, hyper: [1], steps: 0 })).toThrow(/steps/);
    expect(() => unrolledHypergradient({ ...base, hyper: [] })).toThrow(/hyper/);
    expect(() => unrolledHypergradient({ ...base, hyper: [NaN] })).toThrow(/hyper/);
    dispose(params);
  });
});
