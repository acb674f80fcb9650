// Hessian-vector products of whole models against central finite differences of the
// gradient, (∇L(θ+hv) − ∇L(θ−hv)) / 2h, with h = 1e-2 along a unit v, in float32.
// Smooth activations (tanh, softplus) so the finite difference converges; truncation
// ~h²·|∂³L| and rounding ~u·|∇L|/h are both ≤ 1e-4 relative here, so 5e-3 leaves room
// for float32 accumulation over a few thousand parameters (measured ≤ 1e-3). Stock tfjs
// gives errors of 0.25–1.0 or throws on these models (FINDINGS §3).
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './backend';
import { hvp, valueGradHvp, type TensorTree } from './hvp';
import { batchNormOp } from './batch_norm';
import { softmaxCrossEntropy } from './losses';
import { disposeTree, fdHvp, relErr, TEST_BACKENDS, unitDirection, vdot } from './test-util';

const H = 1e-2;
const TOL = 5e-3;

function init(shapes: Record<string, number[]>, seed: number): TensorTree {
  const out: Record<string, tf.Tensor> = {};
  let i = 0;
  for (const [k, s] of Object.entries(shapes)) {
    const fanIn = s.slice(0, -1).reduce((a, b) => a * b, 1);
    out[k] = s.length === 1 ? tf.randomNormal(s, 0, 0.1, 'float32', seed + i++) : tf.randomNormal(s, 0, 1 / Math.sqrt(fanIn), 'float32', seed + i++);
  }
  return out;
}

function labels(n: number, k: number, seed: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([n], 0, k, 'int32', seed), k), 'float32'));
}

interface Model {
  readonly params: TensorTree;
  readonly loss: (p: TensorTree) => tf.Scalar;
  readonly data: tf.Tensor[];
}

function mlp(act: (t: tf.Tensor) => tf.Tensor): Model {
  const params = init({ w1: [12, 10], b1: [10], w2: [10, 8], b2: [8], w3: [8, 4], b3: [4] }, 100);
  const x = tf.randomNormal([6, 12], 0, 1, 'float32', 1);
  const y = labels(6, 4, 2);
  const loss = (p: TensorTree) => {
    const h1 = act(tf.add(tf.matMul(x, p['w1']!), p['b1']!));
    const h2 = act(tf.add(tf.matMul(h1, p['w2']!), p['b2']!));
    return softmaxCrossEntropy(tf.add(tf.matMul(h2, p['w3']!), p['b3']!), y);
  };
  return { params, loss, data: [x, y] };
}

function cnn(withBatchNorm: boolean): Model {
  const params = init(
    {
      k1: [3, 3, 2, 4], c1: [4], ...(withBatchNorm ? { gamma: [4], beta: [4] } : {}),
      k2: [3, 3, 4, 6], c2: [6], wd: [3 * 3 * 6, 3], bd: [3],
    },
    200,
  );
  const x = tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 3);
  const y = labels(3, 3, 4);
  const loss = (p: TensorTree) => {
    let h = tf.add(tf.conv2d(x as tf.Tensor4D, p['k1'] as tf.Tensor4D, 1, 'same'), p['c1']!);
    if (withBatchNorm) {
      const m = tf.moments(h, [0, 1, 2]);
      h = batchNormOp(h, m.mean, m.variance, p['beta'], tf.add(p['gamma']!, 1), 1e-3);
    }
    h = tf.softplus(h);
    h = tf.softplus(tf.add(tf.conv2d(h as tf.Tensor4D, p['k2'] as tf.Tensor4D, [2, 2], 'same'), p['c2']!));
    h = tf.avgPool(h as tf.Tensor4D, 1, 1, 'valid');
    return softmaxCrossEntropy(tf.add(tf.matMul(tf.reshape(h, [3, 54]), p['wd']!), p['bd']!), y);
  };
  return { params, loss, data: [x, y] };
}

function dispose(m: Model): void {
  disposeTree(m.params);
  m.data.forEach((t) => t.dispose());
}

describe.each(TEST_BACKENDS)('hvp of models on %s', (backend) => {
  beforeAll(async () => {
    await initRuntime({ backend });
  });

  const models: Record<string, () => Model> = {
    'MLP with tanh': () => mlp((t) => tf.tanh(t)),
    'MLP with softplus': () => mlp((t) => tf.softplus(t)),
    'CNN (conv, stride 2, avg-pool, dense)': () => cnn(false),
    'CNN with batch norm (batch statistics)': () => cnn(true),
  };

  it.each(Object.keys(models))('%s: H·v matches finite differences of the gradient', (name) => {
    const before = tf.memory().numTensors;
    const m = models[name]!();
    const v = unitDirection(m.params, 7);
    const hv = hvp(m.loss, m.params, v);
    const fd = fdHvp(m.loss, m.params, v, H);
    expect(Object.keys(hv)).toEqual(Object.keys(m.params));
    expect(relErr(hv, fd)).toBeLessThan(TOL);
    expect(Math.sqrt(vdot(fd, fd))).toBeGreaterThan(1e-3);
    // H is symmetric: ⟨u, H v⟩ = ⟨H u, v⟩ (an identity FD does not give us for free).
    const u = unitDirection(m.params, 8);
    const hu = hvp(m.loss, m.params, u);
    const a = vdot(u, hv);
    const b = vdot(hu, v);
    expect(Math.abs(a - b)).toBeLessThan(1e-4 * Math.max(1, Math.abs(a)));
    [v, hv, fd, u, hu].forEach(disposeTree);
    dispose(m);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('hvp', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });

  it('is linear in v: H·(2v) = 2·H·v', () => {
    const m = mlp((t) => tf.tanh(t));
    const v = unitDirection(m.params, 9);
    const v2 = Object.fromEntries(Object.entries(v).map(([k, t]) => [k, tf.mul(t, 2)]));
    const a = hvp(m.loss, m.params, v);
    const b = hvp(m.loss, m.params, v2);
    const a2 = Object.fromEntries(Object.entries(a).map(([k, t]) => [k, tf.mul(t, 2)]));
    expect(relErr(b, a2)).toBeLessThan(1e-5);
    [v, v2, a, b, a2].forEach(disposeTree);
    dispose(m);
  });

  it('valueGradHvp returns the loss, the gradient and the same H·v, leaking nothing', () => {
    const m = mlp((t) => tf.softplus(t));
    const v = unitDirection(m.params, 10);
    const before = tf.memory().numTensors;
    const r = valueGradHvp(m.loss, m.params, v);
    const h = hvp(m.loss, m.params, v);
    const g = tf.grads((...ws: tf.Tensor[]) => m.loss(Object.fromEntries(Object.keys(m.params).map((k, i) => [k, ws[i]!]))))(Object.values(m.params));
    const gTree = Object.fromEntries(Object.keys(m.params).map((k, i) => [k, g[i]!]));
    const l = tf.tidy(() => m.loss(m.params));
    expect(Math.abs(r.value.dataSync()[0]! - l.dataSync()[0]!)).toBeLessThan(1e-6);
    expect(relErr(r.grad, gTree)).toBeLessThan(1e-6);
    expect(relErr(r.hvp, h)).toBeLessThan(1e-6);
    [r.grad, r.hvp, h, gTree].forEach(disposeTree);
    r.value.dispose();
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
    disposeTree(v);
    dispose(m);
  });

  describe('fails loudly instead of returning a wrong number', () => {
    const w = () => tf.randomNormal([5, 3], 0, 0.5, 'float32', 1);
    const x = () => tf.randomNormal([4, 5], 0, 1, 'float32', 2);
    const y = () => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3), 'float32');
    const cases: Record<string, [(p: TensorTree) => tf.Scalar, RegExp]> = {
      'tf.losses.softmaxCrossEntropy (customGrad)': [
        (p) => tf.losses.softmaxCrossEntropy(y(), tf.matMul(x(), p['w']!)) as tf.Scalar,
        /op '.*' is not twice-differentiable.*customGrad/,
      ],
      'tf.logSoftmax (customGrad)': [
        (p) => tf.sum(tf.mul(y(), tf.logSoftmax(tf.matMul(x(), p['w']!)))) as tf.Scalar,
        /op '.*' is not twice-differentiable.*customGrad/,
      ],
      'localResponseNormalization (saved output)': [
        (p) => tf.sum(tf.sin(tf.localResponseNormalization(tf.reshape(tf.matMul(x(), p['w']!), [1, 2, 2, 3]) as tf.Tensor4D))) as tf.Scalar,
        /op 'LRN' is not twice-differentiable.*saved output/,
      ],
    };
    it.each(Object.keys(cases))('%s', (name) => {
      const [loss, re] = cases[name]!;
      const p = { w: w() };
      const v = unitDirection(p, 3);
      const before = tf.memory().numTensors;
      expect(() => hvp(loss, p, v)).toThrow(re);
      expect(tf.memory().numTensors).toBe(before);
      disposeTree(p);
      disposeTree(v);
    });
  });

  // tfjs-layers' Dense, Conv2D and DepthwiseConv2D call tf.fused.*: customGrad ops, which under a
  // tape fuse only the linear activation and differentiate the saved inputs; H·v through them
  // must equal H·v through the same network in separate ops (same math, other rounding).
  describe('tf.fused.* ops (tfjs-layers Dense, Conv2D, DepthwiseConv2D) are exact', () => {
    const x4 = () => tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const cases: Record<string, [TensorTree, (p: TensorTree) => tf.Scalar, (p: TensorTree) => tf.Scalar]> = {
      'fused.matMul with bias': [
        { a: tf.randomNormal([4, 5], 0, 1, 'float32', 5), w: tf.randomNormal([5, 3], 0, 0.5, 'float32', 6), b: tf.randomNormal([3], 0, 0.5, 'float32', 7) },
        (p) => tf.sum(tf.sin(tf.fused.matMul({ a: p['a']!, b: p['w']!, bias: p['b']! }))) as tf.Scalar,
        (p) => tf.sum(tf.sin(tf.add(tf.matMul(p['a']!, p['w']!), p['b']!))) as tf.Scalar,
      ],
      'fused.matMul transposed, no bias': [
        { a: tf.randomNormal([5, 4], 0, 1, 'float32', 5), w: tf.randomNormal([3, 5], 0, 0.5, 'float32', 6) },
        (p) => tf.sum(tf.sin(tf.fused.matMul({ a: p['a']!, b: p['w']!, transposeA: true, transposeB: true }))) as tf.Scalar,
        (p) => tf.sum(tf.sin(tf.matMul(p['a']!, p['w']!, true, true))) as tf.Scalar,
      ],
      'fused.conv2d with bias, stride 2, same': [
        { f: tf.randomNormal([3, 3, 2, 3], 0, 0.5, 'float32', 8), b: tf.randomNormal([3], 0, 0.5, 'float32', 9) },
        (p) => tf.sum(tf.sin(tf.fused.conv2d({ x: x4(), filter: p['f']! as tf.Tensor4D, strides: 2, pad: 'same', bias: p['b']! }))) as tf.Scalar,
        (p) => tf.sum(tf.sin(tf.add(tf.conv2d(x4(), p['f']! as tf.Tensor4D, 2, 'same'), p['b']!))) as tf.Scalar,
      ],
      'fused.depthwiseConv2d with bias': [
        { f: tf.randomNormal([3, 3, 2, 1], 0, 0.5, 'float32', 10), b: tf.randomNormal([2], 0, 0.5, 'float32', 11) },
        (p) => tf.sum(tf.sin(tf.fused.depthwiseConv2d({ x: x4(), filter: p['f']! as tf.Tensor4D, strides: 1, pad: 'valid', bias: p['b']! }))) as tf.Scalar,
        (p) => tf.sum(tf.sin(tf.add(tf.depthwiseConv2d(x4(), p['f']! as tf.Tensor4D, 1, 'valid'), p['b']!))) as tf.Scalar,
      ],
    };
    it.each(Object.keys(cases))('%s: H·v equals that of the unfused ops', (name) => {
      const [p, fused, plain] = cases[name]!;
      const v = unitDirection(p, 12);
      const before = tf.memory().numTensors;
      const a = hvp(fused, p, v);
      const b = hvp(plain, p, v);
      expect(vdot(b, b)).toBeGreaterThan(1e-4);
      expect(relErr(a, b)).toBeLessThan(1e-5);
      [a, b].forEach(disposeTree);
      expect(tf.memory().numTensors).toBe(before);
      [p, v].forEach(disposeTree);
    });
  });

  it('rejects a direction whose keys or shapes differ from params', () => {
    const p = { a: tf.zeros([2]), b: tf.zeros([3]) };
    const f = (q: TensorTree) => tf.sum(tf.square(q['a']!)) as tf.Scalar;
    expect(() => hvp(f, p, { a: tf.zeros([2]) })).toThrow(/missing \[b\]/);
    expect(() => hvp(f, p, { a: tf.zeros([2]), b: tf.zeros([4]) })).toThrow(/v\['b'\] has shape \[4\], expected params' \[3\]/);
  });
});
