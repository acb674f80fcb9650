import * as tf from '@tensorflow/tfjs-core';
import { ones, zeros } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';

/** BatchNorm hyperparameters; defaults are PyTorch's (momentum 0.1, ε = 1e-5). */
export interface BatchNormConfig {
  /** Weight of the new batch statistic in the running average. */
  readonly momentum: number;
  readonly epsilon: number;
}

export const defaultBatchNorm: BatchNormConfig = { momentum: 0.1, epsilon: 1e-5 };

/** γ (ones) and β (zeros) are parameters; the running mean (zeros) and variance (ones) are state. */
export const batchNormSpecs = (name: string, channels: number): { params: TensorSpec[]; state: TensorSpec[] } => ({
  params: [
    { path: `${name}/gamma`, shape: [channels], init: ones },
    { path: `${name}/beta`, shape: [channels], init: zeros },
  ],
  state: [
    { path: `${name}/mean`, shape: [channels], init: zeros },
    { path: `${name}/variance`, shape: [channels], init: ones },
  ],
});

/**
 * Batch normalization over every axis but the last (channels), Ioffe & Szegedy (2015):
 *
 *   training: μ = mean(x), σ² = mean((x − μ)²) over the batch (and spatial) axes,
 *             y = γ·(x − μ)/√(σ² + ε) + β,
 *             running_mean ← (1 − m)·running_mean + m·μ,
 *             running_var  ← (1 − m)·running_var  + m·σ²·n/(n − 1)   (n values per channel),
 *   eval:     y = γ·(x − running_mean)/√(running_var + ε) + β.
 *
 * This matches `torch.nn.BatchNorm2d` (biased variance to normalize, unbiased in the running
 * average). It is written with mean/sub/square/sqrt/div rather than `tf.moments` or
 * `tf.batchNorm` because those are not twice differentiable in tfjs 4.22 (FINDINGS §3), and the
 * bilevel hypergradient differentiates through the training-mode pass.
 */
export const batchNorm = (
  ctx: ForwardContext,
  name: string,
  x: tf.Tensor,
  cfg: BatchNormConfig = defaultBatchNorm,
): tf.Tensor => {
  const gamma = ctx.param(`${name}/gamma`);
  const beta = ctx.param(`${name}/beta`);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  if (!ctx.training) {
    const inv = tf.div(1, tf.sqrt(tf.add(ctx.state(`${name}/variance`), cfg.epsilon)));
    return tf.add(tf.mul(tf.sub(x, ctx.state(`${name}/mean`)), tf.mul(inv, gamma)), beta);
  }
  const mean = tf.mean(x, axes);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axes);
  const y = tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, cfg.epsilon))), gamma), beta);
  const n = x.size / (x.shape[x.rank - 1] as number);
  const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
  const m = cfg.momentum;
  ctx.setState(`${name}/mean`, tf.add(tf.mul(ctx.state(`${name}/mean`), 1 - m), tf.mul(mean, m)));
  ctx.setState(`${name}/variance`, tf.add(tf.mul(ctx.state(`${name}/variance`), 1 - m), tf.mul(unbiased, m)));
  return y;
};
