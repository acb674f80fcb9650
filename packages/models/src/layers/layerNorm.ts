import * as tf from '@tensorflow/tfjs-core';
import { ones, zeros } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';

export const layerNormSpecs = (name: string, dim: number): TensorSpec[] => [
  { path: `${name}/gamma`, shape: [dim], init: ones },
  { path: `${name}/beta`, shape: [dim], init: zeros },
];

/**
 * Layer normalization over the last axis, Ba, Kiros & Hinton (2016):
 * y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² (biased) over the features of each position.
 * Same in training and eval; no state.
 */
export const layerNorm = (ctx: ForwardContext, name: string, x: tf.Tensor, epsilon = 1e-5): tf.Tensor => {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axis, true);
  const normed = tf.div(centered, tf.sqrt(tf.add(variance, epsilon)));
  return tf.add(tf.mul(normed, ctx.param(`${name}/gamma`)), ctx.param(`${name}/beta`));
};
