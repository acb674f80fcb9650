import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, on, rand, randomValues, setupNative } from '../test-util';
import { BIAS_RELU, BIAS_RELU_GRAD, fusedBiasRelu, fusedDense, fusedSoftmaxCrossEntropy } from './fused';

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

describe('LetsBiasRelu: relu(x + b) in one kernel, and its gradient in one', () => {
  const biasRelu = (x: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.engine().runKernel(BIAS_RELU, { x, b }) as tf.Tensor;
  const bits = (t: tf.Tensor): Buffer => Buffer.from((t.dataSync() as Float32Array).slice().buffer);
  /** Values of both signs with zeros, −0, NaN and ±Infinity sprinkled in. */
  const awkward = (shape: number[], seed: number): tf.Tensor => {
    const v = randomValues(shape.reduce((p, q) => p * q, 1), seed);
    v.forEach((_, i) => {
      if (i % 97 === 5) v[i] = 0;
      else if (i % 101 === 7) v[i] = -0;
      else if (i % 1009 === 11) v[i] = NaN;
      else if (i % 1013 === 13) v[i] = i % 2 ? Infinity : -Infinity;
    });
    return tf.tensor(v, shape);
  };
  // [64, 28, 28, 8] has 401,408 elements, above the threads' threshold (2^18): the threaded loops
  // and the bias sum's per-thread partial sums.
  const SHAPES = [[1, 3], [7, 5], [20, 12, 12, 4], [64, 28, 28, 8]];

  test.each(SHAPES.map((s) => [s]))('shape %j: forward and gradients, bit for bit the composed ops (Add, Relu; Step, Multiply, Sum)', async (shape) => {
    if (skip) return;
    await on('native', () => {
      const C = shape[shape.length - 1]!;
      const x = awkward(shape, 1), b = awkward([C], 2), r = rand(shape, 3);
      // Finite inputs for the gradients (the awkward values would make NaN of the whole sum).
      const xf = rand(shape, 4), bf = rand([C], 5);
      const before = tf.memory().numTensors;
      const fused = biasRelu(x, b), composed = tf.tidy(() => tf.relu(tf.add(x, b)));
      expect(bits(fused).equals(bits(composed))).toBe(true);
      // and against the float32 formula written out: v = fround(x + b), v < 0 ? 0 : v, NaN kept
      const xv = x.dataSync(), bv = b.dataSync(), fv = fused.dataSync();
      for (let i = 0; i < xv.length; i++) {
        const v = Math.fround(xv[i]! + bv[i % C]!);
        const want = v < 0 ? 0 : v;
        if (!Object.is(fv[i], want)) throw new Error(`element ${i}: ${fv[i]} where ${want} was expected`);
      }
      // Gradients of Σ r ⊙ relu(x + b)
      const g = (f: (p: tf.Tensor, q: tf.Tensor) => tf.Tensor) => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p, q), r)))([xf, bf]);
      const [dxF, dbF] = g(biasRelu) as [tf.Tensor, tf.Tensor], [dxC, dbC] = g((p, q) => tf.relu(tf.add(p, q))) as [tf.Tensor, tf.Tensor];
      expect(bits(dxF).equals(bits(dxC))).toBe(true);
      expect(bits(dbF).equals(bits(dbC))).toBe(true);
      expect(dbF.shape).toEqual([C]);
      tf.dispose([fused, composed, dxF, dbF, dxC, dbC]);
      expect(tf.memory().numTensors).toBe(before);
      return [x, b];
    });
  });

  test('forward and first derivatives match the stock cpu backend', async () => {
    if (skip) return;
    const f = () => {
      const x = rand([6, 5, 5, 3], 6), b = rand([3], 7), r = rand([6, 5, 5, 3], 8);
      const fwd = (p: tf.Tensor, q: tf.Tensor) => (tf.getBackend() === 'native' ? biasRelu(p, q) : tf.relu(tf.add(p, q)));
      const { value, grads } = tf.valueAndGrads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(fwd(p, q), r)))([x, b]);
      return [value, ...grads, fwd(x, b)];
    };
    const n = await on('native', f), c = await on('cpu', f);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(TOL));
  });

  test('second derivatives through it (the gradient kernel\'s own gradient): H·v matches central differences of the cpu gradient', async () => {
    if (skip) return;
    // L = Σ (relu(x·W + b) ⊙ r)²: its Hessian in (W, b) goes through LetsBiasReluGrad's derivative in dy.
    const data = () => [rand([9, 4], 21), rand([4, 6], 22), rand([6], 23), rand([9, 6], 24), rand([4, 6], 25), rand([6], 26)] as const;
    const lossOf = (act: (z: tf.Tensor, b: tf.Tensor) => tf.Tensor, x: tf.Tensor, r: tf.Tensor) => (w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.mul(act(tf.matMul(x, w), b), r))) as tf.Scalar;
    const hv = () => {
      const [x, w, b, r, vw, vb] = data();
      const L = lossOf(biasRelu, x, r);
      const gv = (p: tf.Tensor, q: tf.Tensor) => {
        const [gw, gb] = tf.grads(L)([p, q]);
        return tf.add(tf.sum(tf.mul(gw!, vw)), tf.sum(tf.mul(gb!, vb))) as tf.Scalar;
      };
      return tf.grads(gv)([w, b]);
    };
    const fd = () => {
      const [x, w, b, r, vw, vb] = data();
      const L = lossOf((z, q) => tf.relu(tf.add(z, q)), x, r);
      const eps = 1e-3;
      const at = (s: number) => tf.grads(L)([tf.add(w, tf.mul(vw, s * eps)), tf.add(b, tf.mul(vb, s * eps))]);
      const [plus, minus] = [at(1), at(-1)];
      return plus.map((g, i) => tf.div(tf.sub(g, minus[i]!), 2 * eps));
    };
    const n = await on('native', hv), c = await on('cpu', fd);
    expect(n).toHaveLength(2);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(2e-3));
  });

  test('bad shapes fail naming the inputs', async () => {
    if (skip) return;
    await on('native', () => {
      expect(() => biasRelu(tf.zeros([2, 3]), tf.zeros([4]))).toThrow(/LetsBiasRelu: b must be 1-D with the length of x's last axis, got x \[2, 3\] and b \[4\]/);
      expect(() => biasRelu(tf.zeros([2, 3]), tf.zeros([1, 3]))).toThrow(/LetsBiasRelu: b must be 1-D/);
      expect(() => tf.engine().runKernel(BIAS_RELU_GRAD, { dy: tf.zeros([2, 3]), y: tf.zeros([3, 2]) })).toThrow(/LetsBiasReluGrad: dy and y must have one shape/);
      return [];
    });
  });
});

describe('fusedBiasRelu (the op)', () => {
  test('on native it is the kernel; on cpu the composed ops; the same values', async () => {
    if (skip) return;
    const f = () => {
      const x = rand([5, 4, 4, 6], 31), b = rand([6], 32);
      return [fusedBiasRelu(x, b), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(fusedBiasRelu(p, q))))([x, b])];
    };
    const n = await on('native', f), c = await on('cpu', f);
    n.forEach((v, i) => expect(maxRelErr(v, c[i]!)).toBeLessThan(TOL));
  });
  test('a bias of the wrong shape is refused, naming both shapes', () => {
    expect(() => fusedBiasRelu(tf.zeros([2, 3]), tf.zeros([2]))).toThrow("biasRelu: b must be 1-D with the length of x's last axis, got x [2, 3] and b [2]");
  });
});
