import * as tf from '@tensorflow/tfjs-core';
import { maxRelErr, randomValues, setupNative } from './test-util';

// Same seed, same training: a few SGD steps of a small MLP and CNN give the same losses and
// parameters on 'native' as on 'cpu'. float32 tolerance: the kernels sum in different orders
// (≈1e-7 relative per op); over 3 steps with lr 0.1 the losses agree to ~1e-6 — 1e-5 is the
// bound, far below a wrong gradient's effect (the loss moves by ~1e-2 per step).
const TOL = 1e-5;

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

type Params = Record<string, tf.Variable>;

function init(spec: Array<[string, number[]]>, tag: string): Params {
  const p: Params = {};
  spec.forEach(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 1 ? 1 : n / shape[shape.length - 1]!;
    const v = name === 'gamma' ? new Float32Array(n).fill(1)
      : shape.length === 1 ? new Float32Array(n) : randomValues(n, 100 + i).map((x) => x * Math.sqrt(6 / fanIn));
    const t = tf.tensor(v, shape);
    p[name] = tf.variable(t, true, `${tag}/${name}`);
    t.dispose();
  });
  return p;
}

// Softmax cross-entropy, mean over the batch: mean(logSumExp(z) − Σ y·z).
const ce = (z: tf.Tensor, y: tf.Tensor) => tf.mean(tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(y, z), 1)));

const mlp = (p: Params, x: tf.Tensor) => {
  const h1 = tf.relu(tf.add(tf.matMul(x, p.w1!), p.b1!));
  const h2 = tf.relu(tf.add(tf.matMul(h1, p.w2!), p.b2!));
  return tf.add(tf.matMul(h2, p.w3!), p.b3!);
};

const cnn = (p: Params, x: tf.Tensor) => {
  const z1 = tf.add(tf.conv2d(x as tf.Tensor4D, p.k1 as tf.Tensor4D, 1, 'same'), p.c1!);
  // Batch norm with batch statistics (training mode): moments, then FusedBatchNorm.
  const { mean, variance } = tf.moments(z1, [0, 1, 2]);
  const a1 = tf.relu(tf.batchNorm(z1, mean, variance, p.beta!, p.gamma!, 1e-3));
  const a2 = tf.relu(tf.add(tf.conv2d(a1 as tf.Tensor4D, p.k2 as tf.Tensor4D, 2, 'same'), p.c2!));
  const d = tf.depthwiseConv2d(a2 as tf.Tensor4D, p.dk as tf.Tensor4D, 1, 'same');
  const pooled = tf.avgPool(tf.maxPool(d, 2, 1, 'same'), 2, 2, 'valid');
  return tf.add(tf.matMul(tf.reshape(pooled, [x.shape[0]!, -1]), p.w!), p.b!);
};

async function train(backend: string, kind: 'mlp' | 'cnn'): Promise<{ losses: number[]; params: Float32Array[] }> {
  await tf.setBackend(backend);
  const spec: Array<[string, number[]]> = kind === 'mlp'
    ? [['w1', [20, 16]], ['b1', [16]], ['w2', [16, 16]], ['b2', [16]], ['w3', [16, 4]], ['b3', [4]]]
    : [['k1', [3, 3, 3, 4]], ['c1', [4]], ['gamma', [4]], ['beta', [4]], ['k2', [3, 3, 4, 8]], ['c2', [8]], ['dk', [3, 3, 8, 1]], ['w', [32, 4]], ['b', [4]]];
  const p = init(spec, `${backend}-${kind}`);
  const B = 8;
  const x = tf.tensor(randomValues(kind === 'mlp' ? B * 20 : B * 8 * 8 * 3, 7), kind === 'mlp' ? [B, 20] : [B, 8, 8, 3]);
  const yf = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 3, 2, 1, 0], 'int32'), 4), 'float32'));
  const f = kind === 'mlp' ? mlp : cnn;
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => ce(f(p, x), yf) as tf.Scalar);
      for (const v of Object.values(p)) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.1)));
      return value;
    });
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  const params = await Promise.all(Object.values(p).map(async (v) => new Float32Array(await v.data())));
  tf.dispose([x, yf, ...Object.values(p)]);
  return { losses, params };
}

describe('training on native matches cpu on the same seed', () => {
  test.each(['mlp', 'cnn'] as const)('%s: three SGD steps', async (kind) => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const n = await train('native', kind);
    const c = await train('cpu', kind);
    // The loss must actually move (so equal losses mean equal gradients, not a frozen model).
    expect(Math.abs(c.losses[2]! - c.losses[0]!)).toBeGreaterThan(1e-3);
    expect(maxRelErr(Float32Array.from(n.losses), Float32Array.from(c.losses))).toBeLessThan(TOL);
    n.params.forEach((v, i) => expect(maxRelErr(v, c.params[i]!)).toBeLessThan(TOL));
    expect(tf.memory().numTensors).toBe(before);
  });
});
