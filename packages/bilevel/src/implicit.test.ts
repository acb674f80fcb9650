import * as tf from '@tensorflow/tfjs-core';
import { dispose } from '@lets/tree';
import { implicitHypergradient } from './implicit';
import { setupCpu } from './test-util';

beforeAll(setupCpu);

// Lower: L(θ, λ) = ½ θᵀ A θ − λ bᵀ θ, so θ*(λ) = λ A⁻¹ b. Upper: F = ½ ‖θ − c‖².
// dF/dλ = (θ* − c)ᵀ A⁻¹ b, computed here with a hand-solved 2×2 inverse in float64.
const A = [
  [2, 0.5],
  [0.5, 1],
];
const b = [1, -1];
const c = [0.3, 0.4];
const det = 2 * 1 - 0.5 * 0.5;
const Ainv = [
  [1 / det, -0.5 / det],
  [-0.5 / det, 2 / det],
];
const Ainvb = [Ainv[0]![0]! * b[0]! + Ainv[0]![1]! * b[1]!, Ainv[1]![0]! * b[0]! + Ainv[1]![1]! * b[1]!];

describe('implicitHypergradient (IFT, Neumann series)', () => {
  const lambda = 0.7;
  const thetaStar = Ainvb.map((x) => lambda * x);
  const ref = thetaStar.reduce((s, t, i) => s + (t - c[i]!) * Ainvb[i]!, 0);
  const lowerLoss = (p: Record<string, tf.Tensor>, l: tf.Tensor1D): tf.Scalar => {
    const w = p['w']!;
    const Aw = tf.reshape(tf.matMul(tf.tensor2d(A), tf.reshape(w, [2, 1])), [2]);
    return tf.sub(tf.mul(0.5, tf.sum(tf.mul(w, Aw))), tf.mul(tf.reshape(l, []), tf.sum(tf.mul(tf.tensor1d(b), w)))) as tf.Scalar;
  };

  it.each(['exact', 'central', 'fd'] as const)('converges to the closed form with the %s estimator', (estimator) => {
    const before = tf.memory().numTensors;
    const params = { w: tf.tensor1d(thetaStar) };
    const upperGrads = { w: tf.tensor1d(thetaStar.map((t, i) => t - c[i]!)) };
    // Eigenvalues of A ≈ 2.21 and 0.79; α = 0.4 < 2/2.21; (1 − 0.4·0.79)^200 ≈ 1e-33.
    const hg = implicitHypergradient({ params, hyper: [lambda], lowerLoss, upperGrads, alpha: 0.4, terms: 200, estimator });
    // 'fd' on a quadratic is exact up to rounding (1e-3 relative per product, see hvp tests).
    expect(Math.abs(hg[0]! - ref)).toBeLessThan((estimator === 'exact' ? 1e-4 : 2e-3) * Math.abs(ref));
    dispose(params);
    dispose(upperGrads);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('adds the direct term and truncates: K = 0 is α·(mixed term)', () => {
    const params = { w: tf.tensor1d(thetaStar) };
    const upperGrads = { w: tf.tensor1d([1, 0]) };
    // ∂²L/∂λ∂θ = −b, p = α e₁, so dF/dλ = direct − (−b)ᵀ α e₁ = direct + α b₁.
    const hg = implicitHypergradient({ params, hyper: [lambda], lowerLoss, upperGrads, alpha: 0.5, terms: 0, upperDirect: [2] });
    expect(hg[0]).toBeCloseTo(2 + 0.5 * b[0]!, 5);
    expect(() => implicitHypergradient({ params, hyper: [lambda], lowerLoss, upperGrads, alpha: -1 })).toThrow(/alpha/);
    dispose(params);
    dispose(upperGrads);
  });
});
