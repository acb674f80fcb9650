/**
 * Batch normalisation built from primitive ops, so it is twice differentiable:
 *
 *   y = (x − mean) · rsqrt(variance + ε) · scale + offset
 *
 * with mean/variance/scale/offset broadcast against x (e.g. shape [C] for NHWC input).
 * Reference: Ioffe & Szegedy 2015, eq. in Algorithm 1. Why not `tf.batchNorm`: its
 * FusedBatchNorm kernel saves `scale` for the backward pass even when none is given, so
 * `tf.grads` through `tf.batchNorm(x, mean, variance)` throws "reading 'dataId'"; and its
 * gradient expects rank-1 statistics.
 */
import * as tf from '@tensorflow/tfjs-core';

export function batchNormOp(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  offset?: tf.Tensor,
  scale?: tf.Tensor,
  varianceEpsilon = 1e-3,
): tf.Tensor {
  return tf.tidy(() => {
    let inv = tf.rsqrt(tf.add(variance, varianceEpsilon));
    if (scale !== undefined) inv = tf.mul(inv, scale);
    const y = tf.mul(tf.sub(x, mean), inv);
    return offset !== undefined ? tf.add(y, offset) : y;
  });
}
