/** Shared fixtures of the bilevel tests: a softplus MLP with a squared-error loss, a tiny SGD. */
import * as tf from '@tensorflow/tfjs-core';
import type { Extra, GradFn, GradientTransformation, LossFn } from '@lets/optim';
import type { Params } from '@lets/tree';
import { lcgTensor as randn } from '@lets/testing';

/** Fixed pseudo-random fixtures (@lets/testing's LCG, uniform in [-1, 1) despite the name). */
export { lcg, lcgTensor as randn } from '@lets/testing';

export interface Batch {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

export const makeBatch = (n: number, din: number, dout: number, seed: number, shift = 0): Batch => ({
  x: randn([n, din], seed) as tf.Tensor2D,
  y: tf.tidy(() => tf.add(randn([n, dout], seed + 1), shift)) as tf.Tensor2D,
});

/** A 2-layer MLP with softplus hidden units (twice differentiable in stock tfjs). */
export const mlpParams = (din: number, hidden: number, dout: number, seed: number): Params => ({
  'l1/w': randn([din, hidden], seed, 0.8),
  'l1/b': randn([hidden], seed + 1, 0.1),
  'l2/w': randn([hidden, dout], seed + 2, 0.8),
  'l2/b': randn([dout], seed + 3, 0.1),
});

export const mlpLoss =
  (batch: Batch): LossFn =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => {
      const h = tf.softplus(tf.add(tf.matMul(batch.x, p['l1/w']! as tf.Tensor2D), p['l1/b']!));
      const out = tf.add(tf.matMul(h as tf.Tensor2D, p['l2/w']! as tf.Tensor2D), p['l2/b']!);
      return tf.mul(tf.mean(tf.square(tf.sub(out, batch.y))), 0.5) as tf.Scalar;
    });

/** Loss and gradients of a LossFn by reverse mode. */
export { gradFnOf } from '@lets/optim';

/** SGD with heavy-ball momentum and coupled weight decay: m ← β m + g + wd θ; u = −η m. */
export const localSgd = (lr: number, momentum = 0, weightDecay = 0): GradientTransformation<{ m: Params }> => ({
  init: (params) => ({ m: Object.fromEntries(Object.keys(params).map((k) => [k, tf.zerosLike(params[k]!)])) }),
  update: (g: Params, state: { m: Params }, params?: Params, _extra?: Extra) =>
    tf.tidy(() => {
      const m: Record<string, tf.Tensor> = {};
      const u: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(g)) {
        let d = g[k]!;
        if (weightDecay !== 0) d = tf.add(d, tf.mul(params![k]!, weightDecay));
        m[k] = tf.add(tf.mul(state.m[k]!, momentum), d);
        u[k] = tf.mul(m[k]!, -lr);
      }
      return [u, { m }] as const;
    }) as unknown as readonly [Params, { m: Params }],
});

export const num = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;

/** max_i |a_i − b_i| / max(max_i |b_i|, tiny): a relative error over the whole tree. */
export const relErr = (a: Params, b: Params): number => {
  let num_ = 0;
  let den = 1e-30;
  for (const k of Object.keys(b)) {
    const x = a[k]!.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < y.length; i++) {
      num_ = Math.max(num_, Math.abs((x[i] as number) - (y[i] as number)));
      den = Math.max(den, Math.abs(y[i] as number));
    }
  }
  return num_ / den;
};

/** initRuntime on cpu, without the cpu backend's "install tfjs-node" banner. */
export { setupCpu } from '@lets/testing';
