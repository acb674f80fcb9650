import * as tf from '@tensorflow/tfjs-core';
import { glorotUniform, zeros } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';

/**
 * Dense (fully connected) layer: y = x·W + b, W `[in, out]` Glorot-uniform, b zeros.
 * Inputs of rank > 2 are applied along the last axis (`[..., in] → [..., out]`).
 */
export const denseSpecs = (name: string, inDim: number, outDim: number, bias = true): TensorSpec[] => [
  { path: `${name}/kernel`, shape: [inDim, outDim], init: glorotUniform },
  ...(bias ? [{ path: `${name}/bias`, shape: [outDim], init: zeros }] : []),
];

export const dense = (ctx: ForwardContext, name: string, x: tf.Tensor, bias = true): tf.Tensor => {
  const w = ctx.param(`${name}/kernel`) as tf.Tensor2D;
  const [inDim, outDim] = w.shape;
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(x2, w);
  if (bias) y = tf.add(y, ctx.param(`${name}/bias`));
  return x.rank === 2 ? y : tf.reshape(y, [...lead, outDim]);
};
