// Per-op checks of the twice-differentiable gradients: for s(θ) = Σ sin(op(θ)) (the sin makes
// the Hessian of linear ops non-trivial), the first derivative ⟨∇s, v⟩ and the
// Hessian-vector product H·v (double back-propagation) are compared with central finite
// differences along a unit direction v, computed in float32.
//
// Tolerances. With step h along a unit v, a central difference has truncation error
// ~h²/6·|∂³s| and rounding error ~u·|s|/h (u = 6e-8 for float32). With h = 1e-2 and O(1)
// derivatives over ≤ 200 elements that is ≤ 1e-4 relative for H·v; we allow 5e-3 (measured:
// ≤ 1e-3). The failures these tests guard against are errors of 0.25–1.0 (FINDINGS §3).
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '../backend';
import { hvp, type TensorTree } from '../hvp';
import { batchNormOp } from '../batch_norm';
import { logSoftmax, softmaxCrossEntropy } from '../losses';
import { disposeTree, fdDirectional, fdHvp, gradTree, relErr, TEST_BACKENDS, unitDirection, vdot } from '../test-util';

const H = 1e-2;
const TOL_HVP = 5e-3;
const TOL_GRAD = 2e-3;

type Op = (t: tf.Tensor) => tf.Tensor;
interface Case {
  readonly theta: () => tf.Tensor;
  readonly op: Op;
}

// Values k·0.1 (k = 1..n) in a fixed shuffled order with random signs: no two entries are
// within 2h of each other or of 0, so max/maxPool/leakyRelu keep their argmax/branch
// across the finite-difference step.
function separated(shape: number[], seed: number): () => tf.Tensor {
  return () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: n }, (_, i) => (i + 1) * (3 / n) + 0.05);
    let s = seed;
    for (let i = n - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const j = s % (i + 1);
      [vals[i], vals[j]] = [vals[j]!, vals[i]!];
    }
    return tf.tensor(vals.map((v, i) => (i % 3 === 0 ? -v : v)), shape);
  };
}

const normal = (shape: number[], seed: number, std = 1) => () => tf.randomNormal(shape, 0, std, 'float32', seed);

function cases(): Record<string, Case> {
  const x4 = () => tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 7);
  const k = () => tf.randomNormal([3, 3, 3, 4], 0, 0.3, 'float32', 8);
  const dk = () => tf.randomNormal([3, 3, 3, 2], 0, 0.3, 'float32', 9);
  const m = () => tf.randomNormal([4, 6], 0, 1, 'float32', 10);
  const w = () => tf.randomNormal([6, 5], 0, 0.3, 'float32', 11);
  const y = () => tf.cast(tf.oneHot(tf.tensor1d([1, 3, 0, 4], 'int32'), 5), 'float32');
  return {
    exp: { theta: normal([4, 6], 1, 0.5), op: (t) => tf.exp(t) },
    sigmoid: { theta: normal([4, 6], 2, 1), op: (t) => tf.sigmoid(t) },
    tanh: { theta: normal([4, 6], 3, 1), op: (t) => tf.tanh(t) },
    elu: { theta: separated([4, 6], 4), op: (t) => tf.elu(t) },
    softplus: { theta: normal([4, 6], 5, 1), op: (t) => tf.softplus(t) },
    'pow (base and exponent)': { theta: () => tf.add(tf.abs(tf.randomNormal([4, 6], 0, 1, 'float32', 6)), 0.5), op: (t) => tf.pow(t, tf.mul(t, 0.7)) },
    sqrt: { theta: () => tf.add(tf.abs(tf.randomNormal([4, 6], 0, 1, 'float32', 12)), 0.5), op: (t) => tf.sqrt(t) },
    leakyRelu: { theta: separated([4, 6], 13), op: (t) => tf.leakyRelu(t, 0.1) },
    'softmax kernel': { theta: normal([4, 6], 14), op: (t) => tf.softmax(t) },
    'logSoftmax (runtime)': { theta: normal([4, 6], 15), op: (t) => logSoftmax(t) },
    logSumExp: { theta: normal([4, 6], 16), op: (t) => tf.logSumExp(t, 1) },
    max: { theta: separated([4, 6], 17), op: (t) => tf.max(t, 1) },
    'matMul wrt W': { theta: w, op: (t) => tf.matMul(m(), t) },
    'matMul wrt X (transposed)': { theta: m, op: (t) => tf.matMul(w(), t, true, true) },
    'softmaxCrossEntropy (runtime)': { theta: w, op: (t) => softmaxCrossEntropy(tf.matMul(m(), t), y()) },
    'conv2d wrt filter, same': { theta: k, op: (t) => tf.conv2d(x4() as tf.Tensor4D, t as tf.Tensor4D, 1, 'same') },
    'conv2d wrt filter, stride 2 valid': { theta: k, op: (t) => tf.conv2d(x4() as tf.Tensor4D, t as tf.Tensor4D, 2, 'valid') },
    'conv2d wrt input, stride 2 same': { theta: x4, op: (t) => tf.conv2d(t as tf.Tensor4D, k() as tf.Tensor4D, 2, 'same') },
    'conv2dTranspose wrt filter': {
      theta: () => tf.randomNormal([3, 3, 2, 3], 0, 0.3, 'float32', 18),
      op: (t) => tf.conv2dTranspose(x4() as tf.Tensor4D, t as tf.Tensor4D, [2, 6, 6, 2], 1, 'same'),
    },
    'depthwiseConv2d wrt filter': { theta: dk, op: (t) => tf.depthwiseConv2d(x4() as tf.Tensor4D, t as tf.Tensor4D, 1, 'same') },
    'depthwiseConv2d wrt input, stride 2': { theta: x4, op: (t) => tf.depthwiseConv2d(t as tf.Tensor4D, dk() as tf.Tensor4D, 2, 'same') },
    avgPool: { theta: x4, op: (t) => tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid') },
    'avgPool 3x3 stride 1 (overlapping)': { theta: x4, op: (t) => tf.avgPool(t as tf.Tensor4D, 3, 1, 'valid') },
    // stock tfjs's AvgPoolGrad is wrong at 'same' borders; the runtime's kernel is not
    'avgPool 3x3 stride 2 same': { theta: x4, op: (t) => tf.avgPool(t as tf.Tensor4D, 3, 2, 'same') },
    maxPool: { theta: separated([2, 4, 4, 3], 19), op: (t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid') },
    'maxPool 3x3 stride 1 same (overlapping)': { theta: separated([1, 4, 4, 2], 20), op: (t) => tf.maxPool(t as tf.Tensor4D, 3, 1, 'same') },
    'batchNormOp (runtime) with moments': {
      theta: x4,
      op: (t) => {
        const mo = tf.moments(t, [0, 1, 2]);
        return batchNormOp(t, mo.mean, mo.variance, tf.fill([3], 0.1), tf.fill([3], 1.5), 1e-3);
      },
    },
    'layer norm (runtime batchNormOp over the last axis)': {
      theta: x4,
      op: (t) => {
        const mo = tf.moments(t, [3], true);
        return batchNormOp(t, mo.mean, mo.variance, tf.fill([3], 0.1), tf.fill([3], 1.5), 1e-3);
      },
    },
    'tf.batchNorm with scale and offset': {
      theta: x4,
      op: (t) => {
        const mo = tf.moments(t, [0, 1, 2]);
        return tf.batchNorm(t as tf.Tensor4D, mo.mean, mo.variance, tf.fill([3], 0.1), tf.fill([3], 1.5), 1e-3);
      },
    },
    'mean over space': { theta: x4, op: (t) => tf.mul(tf.mean(t, [1, 2]), 4) },
    gather: { theta: w, op: (t) => tf.gather(t, tf.tensor1d([0, 2, 2, 5], 'int32')) },
    'reshape/transpose/concat/slice': {
      theta: x4,
      op: (t) => tf.slice(tf.concat([tf.transpose(tf.reshape(t, [2, 36, 3]), [0, 2, 1]), tf.ones([2, 3, 1])], 2), [0, 0, 1], [2, 3, 30]),
    },
  };
}

describe.each(TEST_BACKENDS)('second-order gradients on %s', (backend) => {
  beforeAll(async () => {
    await initRuntime({ backend });
  });

  it.each(Object.keys(cases()))('%s: ∇ and H·v match finite differences', (name) => {
    const before = tf.memory().numTensors;
    const c = cases()[name]!;
    const theta = tf.tidy(c.theta);
    const p: TensorTree = { theta };
    const f = (q: TensorTree) => tf.sum(tf.sin(c.op(q['theta']!))) as tf.Scalar;
    const v = unitDirection(p, 42);

    const g = gradTree(f, p);
    const dirFd = fdDirectional(f, p, v, H);
    const dir = vdot(g, v);
    expect(Math.abs(dir - dirFd)).toBeLessThanOrEqual(TOL_GRAD * Math.max(1, Math.abs(dirFd)));

    const hv = hvp(f, p, v);
    const fd = fdHvp(f, p, v, H);
    const err = relErr(hv, fd);
    expect(err).toBeLessThan(TOL_HVP);
    // The check has teeth: the curvature along v is not negligible.
    expect(Math.sqrt(vdot(fd, fd))).toBeGreaterThan(1e-3);

    for (const t of [g, v, hv, fd]) disposeTree(t);
    theta.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('maxPool second-order gradient is the adjoint of MaxPoolGrad, ties included', () => {
    // ReLU outputs make windows with tied zeros; ⟨dd, MaxPoolGrad(dy)⟩ must equal ⟨G(dd), dy⟩
    // where G is the registered gradient of MaxPoolGrad w.r.t. dy.
    tf.tidy(() => {
      const x = tf.relu(tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 3)) as tf.Tensor4D;
      const dy = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 4);
      const dd = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5);
      const back = (d: tf.Tensor) => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid'), d)))(x);
      const lhs = tf.sum(tf.mul(dd, back(dy))).dataSync()[0]!;
      const gdd = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(dd, back(d))))(dy);
      const rhs = tf.sum(tf.mul(gdd, dy)).dataSync()[0]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
    });
  });
});
