/**
 * The expected 0-1 error (`expectedError`, mean of 1 − softmax(z)_y) and the `valLoss` option of
 * makeTrainStep / fit: the validation passes LETS calls back into use it, the training passes
 * keep `loss`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { setupCpu, uniform, statefulMlp } from './test-util';
import { disposeTrainState } from './fit';
import { fit } from './index';
import { initTrainState, makeTrainStep } from './step';
import { crossEntropy, expectedError } from './loss';
import type { BatchSource, TrainableModel, TrainBatch } from './types';

beforeAll(setupCpu);

const num = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;

describe('expectedError', () => {
  it('is the mean of 1 − p_y, worked by hand', () => {
    // Row 1: logits 0,0,0 → p_0 = 1/3, error 2/3. Row 2: logits 0, ln 2, ln 5 → p_2 = 5/8, error 3/8.
    const z = tf.tensor2d([
      [0, 0, 0],
      [0, Math.log(2), Math.log(5)],
    ]);
    const y = tf.tensor1d([0, 2], 'int32');
    const e = expectedError(z, y);
    expect(num(e)).toBeCloseTo((2 / 3 + 3 / 8) / 2, 6);
    // One-hot labels give the same value.
    const oh = tf.oneHot(y, 3);
    const e2 = expectedError(z, oh);
    expect(num(e2)).toBeCloseTo(num(e), 7);
    // Bounded where the cross-entropy is not: a confidently wrong row costs ≈ 1, not ≈ 50.
    const wrong = tf.tensor2d([[50, 0, 0]]);
    const lbl = tf.tensor1d([1], 'int32');
    const ew = expectedError(wrong, lbl);
    const cw = crossEntropy(wrong, lbl);
    expect(num(ew)).toBeCloseTo(1, 6);
    expect(num(cw)).toBeGreaterThan(49);
    tf.dispose([z, y, e, oh, e2, wrong, lbl, ew, cw]);
  });

  it('has the gradient −p_y (1[j = y] − p_j) / B, and matches central differences', () => {
    const zs = [
      [0.3, -1.2, 0.8, 0.1],
      [1.5, 0.2, -0.4, 0.9],
      [-0.7, 0.6, 0.0, -1.1],
    ];
    const ys = [2, 0, 1];
    const y = tf.tensor1d(ys, 'int32');
    const f = (z: tf.Tensor) => expectedError(z, y);
    const z = tf.tensor2d(zs);
    const g = tf.grad(f)(z);
    const got = g.arraySync() as number[][];
    // By hand, in float64.
    const B = zs.length;
    zs.forEach((row, i) => {
      const m = Math.max(...row);
      const ex = row.map((v) => Math.exp(v - m));
      const s = ex.reduce((a, b) => a + b, 0);
      const p = ex.map((v) => v / s);
      const py = p[ys[i]!]!;
      row.forEach((_, j) => {
        const want = (-py * ((j === ys[i] ? 1 : 0) - p[j]!)) / B;
        expect(got[i]![j]!).toBeCloseTo(want, 6);
      });
    });
    // Central differences of the float32 loss at two entries.
    for (const [i, j] of [
      [0, 2],
      [2, 3],
    ] as const) {
      const h = 1e-2;
      const at = (d: number) => {
        const zz = zs.map((r, a) => r.map((v, b) => (a === i && b === j ? v + d : v)));
        const t = tf.tensor2d(zz);
        const v = num(f(t));
        t.dispose();
        return v;
      };
      expect((at(h) - at(-h)) / (2 * h)).toBeCloseTo(got[i]![j]!, 4);
    }
    tf.dispose([y, z, g]);
  });
});

// A small model with state (a running mean used in training mode): test-util's.
const model: TrainableModel = statefulMlp;

const batchOf = (seed: number, n = 12): TrainBatch => {
  const x = uniform([n, 2], seed, 2) as tf.Tensor2D;
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3), 'int32');
  return { x, y, dispose: () => (x.dispose(), y.dispose()) };
};

/** An optimizer that takes no step and records the training loss and the losses its validation callbacks return. */
const spy = (seen: { train: number[]; valGrad: number[]; valLoss: number[] }): GradientTransformation<number> => ({
  init: () => 0,
  update: (g, s, _p, extra) => {
    seen.train.push(num(extra!.loss!));
    if (extra?.valGradFn !== undefined) {
      const r = extra.valGradFn(_p!);
      seen.valGrad.push(num(r.loss));
      r.loss.dispose();
      T.dispose(r.grads);
      if (r.state !== undefined) T.dispose(r.state);
      const l = extra.valLossFn!(_p!);
      seen.valLoss.push(num(l));
      l.dispose();
    }
    return [T.map((x) => tf.zerosLike(x))(g), s + 1];
  },
});

/** The loss `lossOf` of the model's training-mode logits on b, at the state's params. */
const lossAt = (state: ReturnType<typeof initTrainState>, b: TrainBatch, lossOf: typeof crossEntropy): number =>
  tf.tidy(() => num(lossOf(model.apply(state.params, state.modelState, b.x, { training: true }).logits, b.y)));

describe('makeTrainStep and fit: valLoss', () => {
  it("the validation passes use valLoss, the training pass keeps loss; the default is loss", () => {
    const before = tf.memory().numTensors;
    const batch = batchOf(1);
    const vb = batchOf(2);
    for (const [valLoss, want] of [
      [expectedError, expectedError],
      [undefined, crossEntropy],
    ] as const) {
      const seen = { train: [] as number[], valGrad: [] as number[], valLoss: [] as number[] };
      const opt = spy(seen);
      const state = initTrainState(model, opt, 0);
      const step = makeTrainStep({ model, optimizer: opt, ...(valLoss !== undefined ? { valLoss } : {}) });
      const wantTrain = lossAt(state, batch, crossEntropy);
      const wantVal = lossAt(state, vb, want);
      const r = step(state, batch, vb); // consumes state
      expect(seen.train[0]).toBeCloseTo(wantTrain, 6);
      expect(seen.valGrad[0]).toBeCloseTo(wantVal, 6);
      expect(seen.valLoss[0]).toBeCloseTo(wantVal, 6);
      if (valLoss !== undefined) expect(seen.valGrad[0]).toBeLessThan(1);
      disposeTrainState(r.state);
    }
    batch.dispose!();
    vb.dispose!();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fit passes valLoss to its step', async () => {
    const before = tf.memory().numTensors;
    const source = (seed: number): BatchSource =>
      function* () {
        yield batchOf(seed);
        yield batchOf(seed + 10);
      };
    for (const valLoss of [expectedError, undefined]) {
      const seen = { train: [] as number[], valGrad: [] as number[], valLoss: [] as number[] };
      const r = await fit({ model, optimizer: spy(seen), train: source(1), validation: source(2), epochs: 1, ...(valLoss !== undefined ? { valLoss } : {}) });
      expect(seen.valGrad).toHaveLength(2);
      // Params never move (the spy steps by 0), so the validation losses are those of the initial model.
      const init = initTrainState(model, spy(seen), 0);
      const vb = batchOf(2);
      expect(seen.valGrad[0]).toBeCloseTo(lossAt(init, vb, valLoss ?? crossEntropy), 6);
      vb.dispose!();
      disposeTrainState(init);
      disposeTrainState(r.state);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
