import * as tf from '@tensorflow/tfjs-core';
import { mlp } from './mlp';
import { crossEntropy, disposeTree, evalLoss, tensorGrowth, trainSgd, useCpu } from './test-util';

beforeAll(useCpu);

/** Three Gaussian blobs in 4-D, centers ±2 apart, σ = 0.5 (well separated). */
const blobs = (n: number): { x: tf.Tensor2D; y: tf.Tensor1D } => {
  const centers = [
    [2, 0, 0, 0],
    [0, 2, 0, 0],
    [0, 0, 2, 0],
  ];
  let s = 12345;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    (centers[c] as number[]).forEach((m) => xs.push(m + rand()));
    ys.push(c);
  }
  return { x: tf.tensor2d(xs, [n, 4]), y: tf.tensor1d(ys, 'int32') };
};

describe('mlp', () => {
  it('maps [batch, ...] inputs to [batch, numClasses] logits, flattening images', () => {
    const m = mlp({ inputDim: 12, hidden: [5], numClasses: 3 });
    const { params, state } = m.init(0);
    const r = m.apply(params, state, tf.ones([2, 2, 3, 2]), { training: false });
    expect(r.logits.shape).toEqual([2, 3]);
    expect(Object.keys(params)).toEqual(['dense0/kernel', 'dense0/bias', 'head/kernel', 'head/bias']);
    expect(Object.keys(r.state)).toEqual([]);
    r.logits.dispose();
    disposeTree(params);
  });

  it('computes act(x·W0 + b0)·W1 + b1 (checked against a by-hand matmul)', () => {
    const m = mlp({ inputDim: 3, hidden: [2], numClasses: 2, activation: 'tanh' });
    const { params, state } = m.init(1);
    const x = tf.tensor2d([[0.5, -1, 2]]);
    const W0 = params['dense0/kernel']!.arraySync() as number[][];
    const W1 = params['head/kernel']!.arraySync() as number[][];
    // Biases start at zero (checked), so the by-hand forward needs only the kernels.
    expect(Array.from(params['dense0/bias']!.dataSync())).toEqual([0, 0]);
    const xv = [0.5, -1, 2];
    const h = [0, 1].map((j) => Math.tanh(xv.reduce((a, xi, i) => a + xi * W0[i]![j]!, 0)));
    const want = [0, 1].map((j) => h.reduce((a, hi, i) => a + hi * W1[i]![j]!, 0));
    const got = m.apply(params, state, x, { training: false });
    // float32 matmuls of O(1) values: 1e-5 absolute is ~100 ulps.
    Array.from(got.logits.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    got.logits.dispose();
    x.dispose();
    disposeTree(params);
  });

  it.each(['relu', 'tanh', 'softplus', 'gelu'] as const)('trains on three blobs with %s (loss falls well below its start)', (activation) => {
    const m = mlp({ inputDim: 4, hidden: [16, 16], numClasses: 3, activation });
    const { params, state } = m.init(42);
    const { x, y } = blobs(48);
    const before = tf.memory().numTensors;
    const out = trainSgd(m, params, state, x, y, { steps: 40, lr: 0.3 });
    // Start ≈ ln 3 ≈ 1.1; separable blobs: the loss must at least halve.
    expect(out.losses[0]).toBeGreaterThan(0.5);
    expect(evalLoss(m, out.params, out.state, x, y)).toBeLessThan(0.5 * (out.losses[0] as number));
    disposeTree(out.params);
    disposeTree(out.state);
    expect(tf.memory().numTensors).toBe(before);
    [x, y].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('works with tf.variableGrads when params are tf.Variables (same gradients as tf.grads)', () => {
    const m = mlp({ inputDim: 3, hidden: [4], numClasses: 2 });
    const { params, state } = m.init(2);
    const keys = Object.keys(params);
    const vars = Object.fromEntries(keys.map((k) => [k, tf.variable(params[k]!, true, `mlp-vg-${k}`)]));
    const x = tf.tensor2d([[1, -2, 0.5], [0, 1, 1]]);
    const y = tf.tensor1d([1, 0], 'int32');
    const vg = tf.variableGrads(() => crossEntropy(m.apply(vars, state, x, { training: true }).logits, y));
    const g = tf.grads((...ws: tf.Tensor[]) =>
      crossEntropy(m.apply(Object.fromEntries(keys.map((k, i) => [k, ws[i]!])), state, x, { training: true }).logits, y),
    )(keys.map((k) => params[k]!));
    keys.forEach((k, i) => {
      // Identical op sequence: identical float32 results.
      expect(Array.from(vg.grads[`mlp-vg-${k}`]!.dataSync())).toEqual(Array.from(g[i]!.dataSync()));
    });
    [vg.value, ...Object.values(vg.grads), ...g, x, y, ...Object.values(vars)].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('dropout: seeded masks, identical for the same seed, inactive in eval, rate ≈ fraction dropped', () => {
    const m = mlp({ inputDim: 1, hidden: [4000], numClasses: 1, dropout: 0.25, activation: 'relu' });
    const { params, state } = m.init(3);
    // Make the hidden layer's output exactly 1 per unit and the head a sum: logits = #kept / 0.75.
    const p = {
      ...params,
      'dense0/kernel': tf.zeros([1, 4000]),
      'dense0/bias': tf.ones([4000]),
      'head/kernel': tf.ones([4000, 1]),
    };
    const x = tf.ones([1, 1]);
    const run = (seed: number | undefined, training: boolean): number => {
      const r = m.apply(p, state, x, { training, ...(seed === undefined ? {} : { seed }) });
      const v = r.logits.dataSync()[0] as number;
      r.logits.dispose();
      return v;
    };
    const a = run(1, true);
    expect(run(1, true)).toBe(a);
    expect(run(2, true)).not.toBe(a);
    expect(run(undefined, false)).toBeCloseTo(4000, 2);
    // kept fraction ~ Binomial(4000, 0.75)/4000: sd ≈ 0.0068; allow 4 sd.
    const kept = (a * 0.75) / 4000;
    expect(Math.abs(kept - 0.75)).toBeLessThan(0.028);
    expect(() => m.apply(p, state, x, { training: true })).toThrow(/opts.seed \(a safe integer\) is required in training mode/);
    [x, p['dense0/kernel'], p['dense0/bias'], p['head/kernel']].forEach((t) => t.dispose());
    disposeTree(params);
  });

  it('rejects bad inputs and options with messages naming them', () => {
    expect(() => mlp({ hidden: [0] })).toThrow(/'hidden\[0\]' must be a positive integer/);
    expect(() => mlp({ activation: 'sigmoid' as never })).toThrow(/'activation' must be one of/);
    expect(() => mlp({ widths: [3] } as never)).toThrow(/unknown option 'widths'/);
    const m = mlp({ inputDim: 4, hidden: [3], numClasses: 2 });
    const { params, state } = m.init(0);
    const x = tf.ones([2, 5]);
    expect(() => m.apply(params, state, x, { training: false })).toThrow(/input x has shape \[2, 5\], expected \[batch, 4\]/);
    const { ['head/bias']: _drop, ...missing } = params;
    expect(() => m.apply(missing, state, tf.ones([2, 4]), { training: false })).toThrow(/params is missing 'head\/bias'/);
    x.dispose();
    disposeTree(params);
  });

  it('leaks no tensors over repeated apply calls (training, eval, under tf.grads)', () => {
    const m = mlp({ inputDim: 4, hidden: [8], numClasses: 3, dropout: 0.1 });
    const { params, state } = m.init(0);
    const x = tf.ones([4, 4]);
    expect(tensorGrowth(m, params, state, x)).toBe(0);
    x.dispose();
    disposeTree(params);
  });

  it('cross-entropy helper matches a by-hand value', () => {
    const z = tf.tensor2d([[1, 2, 3]]);
    const y = tf.tensor1d([2], 'int32');
    const l = crossEntropy(z, y);
    const want = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3;
    expect(l.dataSync()[0]).toBeCloseTo(want, 5);
    [z, y, l].forEach((t) => t.dispose());
  });
});
