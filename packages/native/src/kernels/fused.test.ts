import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, on, rand, setupNative } from '../test-util';
import { fusedDense, fusedSoftmaxCrossEntropy } from './fused';

// float32 tolerance (summation order of the GEMM and of the loss's sums in double).
const TOL = 2e-5;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

// A two-layer MLP through the fused ops; the same formulas from tfjs ops on 'cpu'.
function loss(x: tf.Tensor, y: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar {
  return fusedSoftmaxCrossEntropy(fusedDense(fusedDense(x, w1, b1, 'relu'), w2, b2), y);
}
const inputs = () => {
  const labels = tf.cast(tf.oneHot(tf.tensor1d([0, 3, 1, 2, 3, 0, 1], 'int32'), 4), 'float32');
  return [rand([7, 9], 1), labels, rand([9, 6], 2), rand([6], 3), rand([6, 4], 4), rand([4], 5)] as const;
};

describe('fused dense and softmax cross-entropy', () => {
  test('forward and first derivatives match the tfjs ops on cpu', async () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const f = () => {
      const [x, y, w1, b1, w2, b2] = inputs();
      const { value, grads } = tf.valueAndGrads((xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => loss(xx, y, a, b, c, d))([x, w1, b1, w2, b2]);
      return [value, ...grads];
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    expect(n).toHaveLength(6);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(TOL));
    expect(tf.memory().numTensors).toBe(before);
  });

  test('linear dense without bias, and the gradient with respect to the labels', async () => {
    if (skip) return;
    const f = () => {
      const [x, y, w1] = inputs();
      const h = tf.grads((a: tf.Tensor, lab: tf.Tensor) => fusedSoftmaxCrossEntropy(tf.slice(fusedDense(x, a), [0, 0], [7, 4]), lab));
      return h([w1, y]);
    };
    const n = await on('native', f);
    const c = await on('cpu', f);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(TOL));
  });

  test('second derivatives: Hessian-vector products match central differences of the cpu gradient', async () => {
    if (skip) return;
    // (Stock tfjs's logSumExp is not twice differentiable correctly, so the cpu ops' own H·v is
    // no reference; their first derivative is.)
    const hv = () => {
      const [x, y, w1, b1, w2, b2] = inputs();
      const v = [rand([9, 6], 11), rand([6], 12), rand([6, 4], 13), rand([4], 14)];
      // H·v = ∇(∇L · v)
      const gv = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
        const gs = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor, s: tf.Tensor) => loss(x, y, p, q, r, s))([a, b, c, d]);
        return tf.addN(gs.map((g, i) => tf.sum(tf.mul(g, v[i]!)))) as tf.Scalar;
      };
      return tf.grads(gv)([w1, b1, w2, b2]);
    };
    const fd = () => {
      const [x, y, w1, b1, w2, b2] = inputs();
      const v = [rand([9, 6], 11), rand([6], 12), rand([6, 4], 13), rand([4], 14)];
      const eps = 1e-2;
      const at = (s: number) => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor, t: tf.Tensor) => loss(x, y, p, q, r, t))(
        [w1, b1, w2, b2].map((p, i) => tf.add(p, tf.mul(v[i]!, s * eps))));
      const [plus, minus] = [at(1), at(-1)];
      return plus.map((g, i) => tf.div(tf.sub(g, minus[i]!), 2 * eps));
    };
    const n = await on('native', hv);
    const c = await on('cpu', fd);
    expect(n).toHaveLength(4);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(2e-3));
  });

  test('results are bit-identical from run to run', async () => {
    if (skip) return;
    const f = () => {
      const [x, y, w1, b1, w2, b2] = inputs();
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(x, y, a, b, w2, b2))([w1, b1]);
    };
    const a = await on('native', f), b = await on('native', f);
    a.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
  });

  test('bad shapes fail naming the inputs', () => {
    expect(() => fusedDense(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/do not chain/);
    expect(() => fusedDense(tf.zeros([2, 3]), tf.zeros([3, 2]), tf.zeros([3]))).toThrow(/b must have shape \[2\]/);
    expect(() => fusedSoftmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4]))).toThrow(/labels must have the logits' shape/);
  });
});
