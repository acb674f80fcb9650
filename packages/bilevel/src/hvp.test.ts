import * as tf from '@tensorflow/tfjs-core';
import { dispose, type Params } from '@lets/tree';
import { hvpEstimator, HVP_ESTIMATORS } from './hvp_estimator';
import { gradFnOf, makeBatch, mlpLoss, mlpParams, randn, relErr, setupCpu } from './test-util';

beforeAll(async () => {
  await setupCpu();
});

// L(a, b) = ½ aᵀ A a + ½ c·b² + aᵀ k, so H·(va, vb) = (A va, c vb) and ∇L = (A a + k, c b).
const A = [
  [3, 1, 0],
  [1, 2, 0.5],
  [0, 0.5, 1],
];
const c = 4;
const k = [0.3, -0.2, 0.1];
const quadLoss = (p: Params): tf.Scalar =>
  tf.tidy(() => {
    const a = p['a']! as tf.Tensor1D;
    const Aa = tf.matMul(tf.tensor2d(A), tf.reshape(a, [3, 1]));
    const qa = tf.mul(0.5, tf.sum(tf.mul(tf.reshape(Aa, [3]), a)));
    const qb = tf.mul(0.5 * c, tf.sum(tf.square(p['b']!)));
    return tf.addN([qa, qb, tf.sum(tf.mul(tf.tensor1d(k), a))]) as tf.Scalar;
  });
const matVec = (M: number[][], v: number[]) => M.map((row) => row.reduce((s, m, j) => s + m * (v[j] as number), 0));

describe('Hessian–vector product estimators', () => {
  const a = [0.5, -1, 2];
  const b = [1, -2];
  const va = [1, 0.5, -0.25];
  const vb = [0.2, 0.4];
  const expected = { a: matVec(A, va), b: vb.map((x) => c * x) };

  it.each(['exact', 'fd', 'central'] as const)('%s is exact on a quadratic (H·v = A v)', (name) => {
    const before = tf.memory().numTensors;
    const params = { a: tf.tensor1d(a), b: tf.tensor1d(b) };
    const v = { a: tf.tensor1d(va), b: tf.tensor1d(vb) };
    const hv = hvpEstimator(name).hvp({ params, lossFn: quadLoss, gradFn: gradFnOf(quadLoss) }, v);
    // Quadratic: the differences have no truncation error; what is left is float32 rounding
    // of ∇L (≈ 1e-7·‖∇L‖) divided by h‖v‖ ≈ 1e-3·‖x‖ ('fd'), hence 1e-3 relative.
    const tol = name === 'exact' ? 1e-5 : 1e-3;
    const ref = { a: tf.tensor1d(expected.a), b: tf.tensor1d(expected.b) };
    expect(relErr(hv, ref)).toBeLessThan(tol);
    dispose(hv);
    dispose(ref);
    dispose(params);
    dispose(v);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'fd' reuses a known gradient: one gradient evaluation instead of two", () => {
    const params = { a: tf.tensor1d(a), b: tf.tensor1d(b) };
    const v = { a: tf.tensor1d(va), b: tf.tensor1d(vb) };
    let calls = 0;
    const gf = gradFnOf(quadLoss);
    const counted = (p: Params) => {
      calls++;
      return gf(p);
    };
    const g = gf(params);
    dispose(hvpEstimator('fd').hvp({ params, gradFn: counted, grads: g.grads }, v));
    expect(calls).toBe(1);
    dispose(hvpEstimator('fd').hvp({ params, gradFn: counted }, v));
    expect(calls).toBe(3);
    dispose(g.grads);
    g.loss.dispose();
    dispose(params);
    dispose(v);
  });

  it("'fisher' is g ⊙ g ⊙ v with g the gradient; 'identity' is v", () => {
    const params = { a: tf.tensor1d(a), b: tf.tensor1d(b) };
    const v = { a: tf.tensor1d(va), b: tf.tensor1d(vb) };
    const ga = matVec(A, a).map((x, i) => x + (k[i] as number));
    const gb = b.map((x) => c * x);
    const fisher = hvpEstimator('fisher').hvp({ params, gradFn: gradFnOf(quadLoss) }, v);
    const ref = { a: tf.tensor1d(ga.map((g, i) => g * g * (va[i] as number))), b: tf.tensor1d(gb.map((g, i) => g * g * (vb[i] as number))) };
    expect(relErr(fisher, ref)).toBeLessThan(1e-6);
    const id = hvpEstimator('identity').hvp({ params }, v);
    expect(relErr(id, v)).toBe(0);
    expect(id['a']).not.toBe(v['a']); // a new tensor, owned by the caller
    [fisher, ref, id, params, v].forEach(dispose);
  });

  it('on a softplus MLP, exact agrees with central and fd differences', () => {
    const before = tf.memory().numTensors;
    const batch = makeBatch(16, 5, 3, 11);
    const params = mlpParams(5, 8, 3, 21);
    const lossFn = mlpLoss(batch);
    const gradFn = gradFnOf(lossFn);
    const v = Object.fromEntries(Object.keys(params).map((key, i) => [key, randn(params[key]!.shape, 100 + i)]));
    const exact = hvpEstimator('exact').hvp({ params, lossFn }, v);
    const central = hvpEstimator('central').hvp({ params, gradFn }, v);
    const fd = hvpEstimator('fd').hvp({ params, gradFn }, v);
    // Smooth loss: central's truncation error is O(h²) with h‖v‖ = 1e-2·‖θ‖; fd's is O(h).
    expect(relErr(central, exact)).toBeLessThan(1e-2);
    expect(relErr(fd, exact)).toBeLessThan(5e-2);
    [exact, central, fd, params, v].forEach(dispose);
    dispose(batch as unknown as Params);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'exact' refuses a loss tfjs cannot differentiate twice instead of returning a wrong number", () => {
    const params = { w: tf.tensor2d([[0.5, -1], [1, 0.2]]) };
    const x = tf.tensor2d([[1, 2], [-1, 0.5]]);
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    const lossFn = (p: Params) => tf.losses.softmaxCrossEntropy(y, tf.matMul(x, p['w'] as tf.Tensor2D)) as tf.Scalar;
    const before = tf.memory().numTensors;
    let message = '';
    try {
      hvpEstimator('exact').hvp({ params, lossFn }, params);
    } catch (e) {
      message = (e as Error).message;
    }
    // Names the op, why, and the estimator to use instead.
    expect(message).toMatch(/^hvp: the 'exact' estimator cannot differentiate the loss twice through op '\w+': it is a customGrad op \(e\.g\. tf\.losses\.softmaxCrossEntropy, tf\.logSoftmax\), whose gradient reads forward values that are not on the tape\. /);
    expect(message).toContain("Use the 'fd' estimator instead (estimator: 'fd', LETS's default: first derivatives only, one gradient evaluation)");
    expect(tf.memory().numTensors).toBe(before);
    [x, y].forEach((t) => t.dispose());
    dispose(params);
  });

  it('names what is missing and rejects unknown estimators', () => {
    const params = { a: tf.tensor1d(a) };
    expect(() => hvpEstimator('exact').hvp({ params }, params)).toThrow(/lossFn/);
    expect(() => hvpEstimator('fd').hvp({ params }, params)).toThrow(/gradFn/);
    expect(() => hvpEstimator('newton' as never)).toThrow(/unknown estimator 'newton'.*exact, fd, central, fisher, identity/);
    expect(() => hvpEstimator('fd', { relStep: 0 })).toThrow(/relStep/);
    expect(HVP_ESTIMATORS).toHaveLength(5);
    dispose(params);
  });
});
