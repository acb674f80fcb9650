import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '@lets/runtime';
import type { Params, Tree } from '@lets/tree';
import type { Model } from './types';

/** Tests run on the cpu backend (small tensors); silences the "install tfjs-node" banner. */
export { setupCpu as useCpu } from '@lets/testing';

/**
 * Mean softmax cross-entropy against integer labels (@lets/runtime's, with one-hot labels).
 * The one-hot is built as int32 and cast: tfjs-backend-wasm 4.22's OneHot ignores a 'float32' dtype.
 */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar =>
  tf.tidy(() => softmaxCrossEntropy(logits, tf.cast(tf.oneHot(labels, logits.shape[1] as number), 'float32')));

const disposeTree = (t: Tree): void => Object.values(t).forEach((x) => x.dispose());

/**
 * Plain SGD with `tf.valueAndGrads` on one fixed batch, training mode, for `steps` steps.
 * Returns the losses before each step; disposes everything it allocates except the final
 * params and state, which it returns (the inputs are left to the caller).
 */
export const trainSgd = (
  model: Model,
  params0: Params,
  state0: Tree,
  x: tf.Tensor,
  labels: tf.Tensor1D,
  opts: { steps: number; lr: number },
): { losses: number[]; params: Params; state: Tree } => {
  const keys = Object.keys(params0);
  let params: Params = Object.fromEntries(keys.map((k) => [k, tf.clone(params0[k] as tf.Tensor)]));
  let state: Tree = Object.fromEntries(Object.keys(state0).map((k) => [k, tf.clone(state0[k] as tf.Tensor)]));
  const losses: number[] = [];
  for (let step = 0; step < opts.steps; step++) {
    let newState: Tree = {};
    const f = (...ws: tf.Tensor[]): tf.Scalar => {
      const p = Object.fromEntries(keys.map((k, i) => [k, ws[i] as tf.Tensor]));
      const r = model.apply(p, state, x, { training: true, seed: step });
      newState = Object.fromEntries(Object.entries(r.state).map(([k, t]) => [k, tf.keep(t)]));
      return crossEntropy(r.logits, labels);
    };
    const { value, grads } = tf.valueAndGrads(f)(keys.map((k) => params[k] as tf.Tensor));
    losses.push(value.dataSync()[0] as number);
    const next = tf.tidy(() =>
      Object.fromEntries(keys.map((k, i) => [k, tf.sub(params[k] as tf.Tensor, tf.mul(grads[i] as tf.Tensor, opts.lr))])),
    );
    value.dispose();
    grads.forEach((g) => g.dispose());
    disposeTree(params);
    disposeTree(state);
    params = next;
    state = newState;
  }
  return { losses, params, state };
};

/** Eval-mode loss. */
export const evalLoss = (model: Model, params: Params, state: Tree, x: tf.Tensor, labels: tf.Tensor1D): number => {
  const r = model.apply(params, state, x, { training: false });
  const l = crossEntropy(r.logits, labels);
  const v = l.dataSync()[0] as number;
  l.dispose();
  r.logits.dispose();
  disposeTree(r.state);
  return v;
};

export { disposeTree };

/**
 * Checks that repeated training- and eval-mode passes (also under tf.grads) leave no tensors
 * behind once the caller disposes the returned logits and state. Returns the growth (expect 0).
 */
export const tensorGrowth = (model: Model, params: Params, state: Tree, x: tf.Tensor, seedOk = true): number => {
  const run = (): void => {
    for (const training of [true, false]) {
      const r = model.apply(params, state, x, { training, ...(seedOk ? { seed: 7 } : {}) });
      r.logits.dispose();
      disposeTree(r.state);
    }
    const keys = Object.keys(params);
    const g = tf.grads((...ws: tf.Tensor[]) => {
      const p = Object.fromEntries(keys.map((k, i) => [k, ws[i] as tf.Tensor]));
      return tf.sum(model.apply(p, state, x, { training: true, seed: 3 }).logits) as tf.Scalar;
    })(keys.map((k) => params[k] as tf.Tensor));
    g.forEach((t) => t.dispose());
  };
  run(); // warm-up (kernels may allocate caches on first use)
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) run();
  return tf.memory().numTensors - before;
};

/**
 * Synthetic image task: class c ∈ {0..k−1} is a bright c-th horizontal band plus noise, NHWC
 * `[n, h, w, ch]`. Learnable by any of the conv models within a few steps.
 */
export const bandImages = (n: number, h: number, w: number, ch: number, k: number, seed = 1): { x: tf.Tensor4D; y: tf.Tensor1D } => {
  const { data, labels } = bandData(n, h, w, ch, k, seed);
  return { x: tf.tensor4d(data, [n, h, w, ch]), y: tf.tensor1d(labels, 'int32') };
};

/** The arrays behind {@link bandImages} (no tensors, so usable before a backend is set). */
export const bandData = (n: number, h: number, w: number, ch: number, k: number, seed = 1): { data: Float32Array; labels: Int32Array } => {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const data = new Float32Array(n * h * w * ch);
  const labels = new Int32Array(n);
  const band = Math.max(1, Math.floor(h / k));
  for (let i = 0; i < n; i++) {
    const c = i % k;
    labels[i] = c;
    for (let r = 0; r < h; r++) {
      for (let q = 0; q < w; q++) {
        for (let z = 0; z < ch; z++) {
          const on = r >= c * band && r < (c + 1) * band ? 1 : 0;
          data[((i * h + r) * w + q) * ch + z] = on + 0.3 * (rand() - 0.5);
        }
      }
    }
  }
  return { data, labels };
};
