/**
 * Vectors as parameter trees: seeded random directions (values drawn in JavaScript by
 * @lets/runtime's Rng, so a seed gives the same vector on every backend), host inner products,
 * and the small dense symmetric eigenproblem Lanczos reduces to.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@lets/runtime';
import { dispose, type Params } from '@lets/tree';

/** A tree shaped like `like` with N(0, 1) entries. */
export const gaussianLike = (like: Params, rng: Rng): Params => {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(like)) out[k] = rng.normal([...like[k]!.shape]);
  return out;
};

/** A tree shaped like `like` with independent ±1 entries (Rademacher), the Hutchinson probe. */
export const rademacherLike = (like: Params, rng: Rng): Params => {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(like)) {
    const n = like[k]!.size;
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rng.nextUint32() & 1) === 1 ? 1 : -1;
    out[k] = tf.tensor(a, [...like[k]!.shape], 'float32');
  }
  return out;
};

/** ⟨a, b⟩ over the whole tree, as a host number. */
export const dot = (a: Params, b: Params): number =>
  tf.tidy(() => {
    const terms = Object.keys(a).map((k) => tf.sum(tf.mul(a[k]!, b[k]!)));
    return (tf.addN(terms).dataSync() as Float32Array)[0] as number;
  });

/** Σ_j c_j x_j + c0·x0 as a new tree (x0 first; zero coefficients skipped). */
export const combine = (terms: readonly (readonly [number, Params])[]): Params =>
  tf.tidy(() => {
    const first = terms[0]![1];
    const out: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(first)) {
      const parts = terms.filter(([c]) => c !== 0).map(([c, x]) => tf.mul(x[k]!, c));
      out[k] = parts.length === 0 ? tf.zerosLike(first[k]!) : parts.length === 1 ? parts[0]! : tf.addN(parts);
    }
    return out;
  });

/** x / ‖x‖ (x unchanged when ‖x‖ = 0) and ‖x‖. */
export const normalized = (x: Params): { unit: Params; norm: number } => {
  const n = Math.sqrt(Math.max(0, dot(x, x)));
  return { unit: combine([[n > 0 ? 1 / n : 1, x]]), norm: n };
};

/** v minus its projections on the orthonormal `basis` (twice: classical Gram–Schmidt, reorthogonalized), a new tree. */
export const orthogonalize = (v: Params, basis: readonly Params[]): Params => {
  let cur = combine([[1, v]]);
  for (let pass = 0; pass < 2 && basis.length > 0; pass++) {
    const cs = basis.map((b) => dot(cur, b));
    const next = combine([[1, cur], ...basis.map((b, j) => [-(cs[j] as number), b] as const)]);
    dispose(cur);
    cur = next;
  }
  return cur;
};

/**
 * Eigenvalues and eigenvectors of a small dense symmetric matrix by cyclic Jacobi rotations
 * (Golub & Van Loan, "Matrix Computations" §8.5), in float64. Returns the eigenvalues in
 * decreasing order and the matching eigenvectors as columns: vectors[i][j] is component i of
 * eigenvector j.
 */
export const symmetricEigen = (matrix: readonly (readonly number[])[]): { values: number[]; vectors: number[][] } => {
  const n = matrix.length;
  const a = matrix.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p]![q] as number) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((a[q]![q] as number) - (a[p]![p] as number)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p] as number;
          const akq = a[k]![q] as number;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k] as number;
          const aqk = a[q]![k] as number;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p] as number;
          const vkq = v[k]![q] as number;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (a[j]![j] as number) - (a[i]![i] as number));
  return { values: order.map((i) => a[i]![i] as number), vectors: v.map((row) => order.map((j) => row[j] as number)) };
};
