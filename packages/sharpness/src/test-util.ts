/** Fixtures of the sharpness tests: quadratics with a known spectrum, split over a tree and over chunks. */
import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { SharpnessProblem } from './problem';

/** initRuntime on cpu, without the cpu backend's "install tfjs-node" banner. */
export { setupCpu } from '@lets/testing';

export type Matrix = number[][];

export const matVec = (m: Matrix, v: readonly number[]): number[] => m.map((row) => row.reduce((s, x, j) => s + x * (v[j] as number), 0));

/** Q diag(λ) Qᵀ with Q = I − 2uuᵀ/‖u‖² (a Householder reflection: orthogonal and symmetric). */
export const withSpectrum = (lambdas: readonly number[], u: readonly number[]): Matrix => {
  const n = lambdas.length;
  const uu = u.reduce((s, x) => s + x * x, 0);
  const Q = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - (2 * (u[i] as number) * (u[j] as number)) / uu));
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => lambdas.reduce((s, l, k) => s + (Q[i]![k] as number) * l * (Q[j]![k] as number), 0)),
  );
};

/** The 7 parameters as a tree of two leaves: 'layer/kernel' [2, 2] and 'layer/bias' [3]. */
export const SPLIT = { kernel: [2, 2], bias: [3] } as const;
export const toTree = (x: readonly number[]): Params => ({
  'layer/kernel': tf.tensor(x.slice(0, 4), [2, 2]),
  'layer/bias': tf.tensor(x.slice(4, 7), [3]),
});
const flat = (p: Params): tf.Tensor1D => tf.concat([tf.reshape(p['layer/kernel']!, [4]), tf.reshape(p['layer/bias']!, [3])]) as tf.Tensor1D;

/** L(x) = ½ (x − c)ᵀ A (x − c) over the tree's 7 numbers. */
export const quadraticLoss =
  (A: Matrix, c: readonly number[] = [0, 0, 0, 0, 0, 0, 0]) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => {
      const x = tf.sub(flat(p), tf.tensor1d([...c]));
      const Ax = tf.matMul(tf.tensor2d(A), tf.reshape(x, [-1, 1]));
      return tf.mul(0.5, tf.sum(tf.mul(tf.reshape(Ax, [-1]), x))) as tf.Scalar;
    });

/**
 * The quadratic ½ xᵀ A x at `x`, as two chunks of weight ½ whose Hessians are A + E and A − E
 * (so only their weighted sum has A's spectrum: the chunks are really accumulated).
 */
export const quadraticProblem = (A: Matrix, x: readonly number[], c?: readonly number[]): SharpnessProblem => {
  const n = A.length;
  const E = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 0.3 * Math.cos(i + j)));
  const plus = A.map((r, i) => r.map((a, j) => a + (E[i]![j] as number)));
  const minus = A.map((r, i) => r.map((a, j) => a - (E[i]![j] as number)));
  return {
    params: toTree(x),
    chunks: [
      { lossFn: quadraticLoss(plus, c), weight: 0.5 },
      { lossFn: quadraticLoss(minus, c), weight: 0.5 },
    ],
  };
};

/** The 7 numbers of a tree of SPLIT's shape. */
export const flatten = (p: Params): number[] => [...p['layer/kernel']!.dataSync(), ...p['layer/bias']!.dataSync()];

export const disposeProblem = (p: SharpnessProblem): void => Object.values(p.params).forEach((t) => t.dispose());

/** Largest eigenvalue of a symmetric PSD matrix by float64 power iteration (an independent check). */
export const powerMax = (m: Matrix, iterations = 5000): number => {
  let v = m.map((_, i) => 1 + i * 0.1);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    const w = matVec(m, v);
    const n = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
    lambda = w.reduce((s, x, i) => s + x * (v[i] as number), 0) / v.reduce((s, x) => s + x * x, 0);
    v = w.map((x) => x / n);
  }
  return lambda;
};

/**
 * max over ‖ε‖ ≤ ρ of gᵀε + ½ εᵀ diag(d) ε (the trust-region subproblem, "hard case" excluded):
 * ε = (μI − D)⁻¹ g with μ > max d chosen by bisection so that ‖ε‖ = ρ.
 */
export const trustRegionMax = (g: readonly number[], d: readonly number[], rho: number): number => {
  const dmax = Math.max(...d);
  const normAt = (mu: number): number => Math.sqrt(g.reduce((s, gi, i) => s + (gi / (mu - (d[i] as number))) ** 2, 0));
  let lo = dmax + 1e-12;
  let hi = dmax + 1;
  while (normAt(hi) > rho) hi = dmax + 2 * (hi - dmax);
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    if (normAt(mid) > rho) lo = mid;
    else hi = mid;
  }
  const mu = (lo + hi) / 2;
  const eps = g.map((gi, i) => gi / (mu - (d[i] as number)));
  return eps.reduce((s, e, i) => s + (g[i] as number) * e + 0.5 * (d[i] as number) * e * e, 0);
};
