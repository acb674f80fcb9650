import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import { hessianEigenvalues } from './eigenvalues';
import { hessianOperator, type SharpnessProblem } from './problem';
import { disposeProblem, flatten, matVec, quadraticProblem, setupCpu, toTree, withSpectrum } from './test-util';
import { symmetricEigen } from './vectors';

beforeAll(setupCpu);

// A quadratic with a known spectrum, rotated by a Householder reflection so that H is dense,
// split over two tree leaves and two chunks (see test-util).
const LAMBDAS = [10, 6, 3, 2, 1, 0.5, -0.3];
const A = withSpectrum(LAMBDAS, [1, -2, 0.5, 1.5, -1, 0.3, 2]);
const X = [0.3, -0.1, 0.7, 0.2, -0.5, 0.4, 0.1];

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('symmetricEigen (Jacobi)', () => {
  it('recovers a known spectrum and orthonormal eigenvectors', () => {
    const { values, vectors } = symmetricEigen(A);
    values.forEach((v, i) => expect(v).toBeCloseTo(LAMBDAS[i] as number, 10));
    for (let j = 0; j < 7; j++) {
      const col = vectors.map((r) => r[j] as number);
      const Av = matVec(A, col);
      Av.forEach((x, i) => expect(x).toBeCloseTo((values[j] as number) * (col[i] as number), 9));
    }
  });
});

describe('hessianEigenvalues on a quadratic with a known spectrum', () => {
  let problem: SharpnessProblem;
  beforeAll(() => {
    problem = quadraticProblem(A, X);
  });
  afterAll(() => disposeProblem(problem));

  it('the operator is H·v, accumulated over the chunks', () => {
    const v = [1, 0, -1, 0.5, 2, -0.5, 0.25];
    const op = hessianOperator(problem, { estimator: 'exact' });
    const vt = toTree(v);
    const hv = op.apply(vt);
    const want = matVec(A, v);
    flatten(hv).forEach((x, i) => expect(x).toBeCloseTo(want[i] as number, 4));
    [vt, hv].forEach((t: Params) => Object.values(t).forEach((x) => x.dispose()));
    op.dispose();
    expect(op.products()).toBe(1);
  });

  it.each(['exact', 'fd', 'central'] as const)("Lanczos, estimator '%s': the top 3 eigenvalues within 1e-3", (estimator) => {
    const before = tf.memory().numTensors;
    const r = hessianEigenvalues(problem, { k: 3, estimator, seed: 1, tol: 1e-5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.estimator).toBe(estimator);
    expect(r.values).toHaveLength(3);
    r.values.forEach((v, i) => expect(relErr(v, LAMBDAS[i] as number)).toBeLessThan(1e-3));
    // 7 parameters: Lanczos reaches an invariant subspace within 7 products.
    expect(r.hvps).toBeLessThanOrEqual(7);
    expect(r.converged).toBe(true);
    expect(r.gradEvals).toBe(estimator === 'fd' ? r.hvps + 1 : 2 * r.hvps);
  });

  it('power iteration with deflation: the top 2 within 1e-3', () => {
    const before = tf.memory().numTensors;
    const r = hessianEigenvalues(problem, { k: 2, method: 'power', estimator: 'exact', seed: 2, tol: 1e-7, maxIterations: 300 });
    expect(tf.memory().numTensors).toBe(before);
    expect(relErr(r.values[0] as number, 10)).toBeLessThan(1e-3);
    expect(relErr(r.values[1] as number, 6)).toBeLessThan(1e-3);
    expect(r.converged).toBe(true);
  });

  it('is deterministic for a seed, and reports progress', () => {
    const events: number[] = [];
    const a = hessianEigenvalues(problem, { seed: 7, maxIterations: 3, onProgress: (e) => events.push(e.done) });
    const b = hessianEigenvalues(problem, { seed: 7, maxIterations: 3 });
    expect(a.values).toEqual(b.values);
    expect(a.residuals).toEqual(b.residuals);
    expect(events).toEqual([1, 2, 3]);
    const c = hessianEigenvalues(problem, { seed: 8, maxIterations: 3 });
    expect(c.values).not.toEqual(a.values);
  });

  it('checks its options', () => {
    expect(() => hessianEigenvalues(problem, { k: 0 })).toThrow(/k must be an integer ≥ 1/);
    expect(() => hessianEigenvalues(problem, { method: 'qr' as never })).toThrow(/method must be/);
    expect(() => hessianEigenvalues({ params: problem.params, chunks: [] })).toThrow(/no chunks/);
  });
});

describe("estimator 'auto'", () => {
  // tf.logSoftmax is a customGrad op: runtime's hvp refuses it, so 'auto' falls back.
  const w0 = [0.5, -0.2, 0.1, 0.3];
  const lossFn = (p: Params): tf.Scalar =>
    tf.tidy(() => {
      const z = tf.reshape(p['w']!, [1, 4]);
      return tf.neg(tf.sum(tf.mul(tf.tensor2d([[1, 0, 0, 0]]), tf.logSoftmax(z)))) as tf.Scalar;
    });

  it('falls back to central differences where an op is not twice differentiable, and says why', () => {
    const params = { w: tf.tensor1d(w0) };
    const before = tf.memory().numTensors;
    const r = hessianEigenvalues({ params, chunks: [{ lossFn, weight: 1 }] }, { k: 1, seed: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.estimator).toBe('central');
    expect(r.fallbackReason).toMatch(/^hvp: the 'exact' estimator cannot differentiate the loss twice through op 'logSoftmax__op'/);
    // The Hessian of −log softmax(z)_0 is diag(p) − p pᵀ.
    const e = w0.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((x) => x / s);
    const H = p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
    expect(relErr(r.values[0] as number, symmetricEigen(H).values[0] as number)).toBeLessThan(1e-2);
    expect(() => hessianEigenvalues({ params, chunks: [{ lossFn, weight: 1 }] }, { estimator: 'exact' })).toThrow(/^hvp: the 'exact' estimator cannot differentiate the loss twice through op 'logSoftmax__op': it is a customGrad op/);
    params.w.dispose();
  });
});
