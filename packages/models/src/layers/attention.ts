import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';
import { dense, denseSpecs } from './dense';

/** Query, key, value and output projections, each `[dim, dim]` + bias. */
export const attentionSpecs = (name: string, dim: number): TensorSpec[] => [
  ...denseSpecs(`${name}/query`, dim, dim),
  ...denseSpecs(`${name}/key`, dim, dim),
  ...denseSpecs(`${name}/value`, dim, dim),
  ...denseSpecs(`${name}/output`, dim, dim),
];

/**
 * Multi-head self-attention, Vaswani et al. (2017):
 *   Q, K, V = x·W_q + b_q, x·W_k + b_k, x·W_v + b_v, split into h heads of size d/h;
 *   A = softmax(Q·Kᵀ/√(d/h) + M) per head, where M = −1e9 at padded keys (keyMask = 0);
 *   y = concat_heads(A·V)·W_o + b_o.
 * x: `[batch, length, d]`; keyMask: `[batch, length]` with 1 for real tokens, or undefined.
 */
export const selfAttention = (
  ctx: ForwardContext,
  name: string,
  x: tf.Tensor,
  numHeads: number,
  keyMask: tf.Tensor | undefined,
  dropoutRate: number,
): tf.Tensor => {
  const [b, l, d] = x.shape as [number, number, number];
  const dh = d / numHeads;
  const heads = (t: tf.Tensor): tf.Tensor4D =>
    tf.transpose(tf.reshape(t, [b, l, numHeads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
  const q = heads(dense(ctx, `${name}/query`, x));
  const k = heads(dense(ctx, `${name}/key`, x));
  const v = heads(dense(ctx, `${name}/value`, x));
  let scores: tf.Tensor = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
  if (keyMask !== undefined) {
    scores = tf.add(scores, tf.reshape(tf.mul(tf.sub(1, keyMask), -1e9), [b, 1, 1, l]));
  }
  const attn = ctx.dropout(tf.softmax(scores), dropoutRate) as tf.Tensor4D;
  const out = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b, l, d]);
  return dense(ctx, `${name}/output`, out);
};
