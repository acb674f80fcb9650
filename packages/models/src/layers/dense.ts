import * as tf from '@tensorflow/tfjs-core';
import { glorotUniform, zeros } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';
import { biasRelu } from './biasRelu';

/**
 * Dense (fully connected) layer: y = x·W + b, W `[in, out]` Glorot-uniform, b zeros.
 * Inputs of rank > 2 are applied along the last axis (`[..., in] → [..., out]`).
 * `opts.relu` applies a ReLU after the bias (one fused kernel where the backend has it).
 */
export const denseSpecs = (name: string, inDim: number, outDim: number, bias = true): TensorSpec[] => [
  { path: `${name}/kernel`, shape: [inDim, outDim], init: glorotUniform },
  ...(bias ? [{ path: `${name}/bias`, shape: [outDim], init: zeros }] : []),
];

export const dense = (ctx: ForwardContext, name: string, x: tf.Tensor, bias = true, opts: { relu?: boolean } = {}): tf.Tensor => {
  const w = ctx.param(`${name}/kernel`) as tf.Tensor2D;
  const [inDim, outDim] = w.shape;
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(x2, w);
  // With relu: relu(x·W + b), through the backend's fused bias-and-ReLU where it has one.
  if (opts.relu === true) y = bias ? biasRelu(y, ctx.param(`${name}/bias`)) : tf.relu(y);
  else if (bias) y = tf.add(y, ctx.param(`${name}/bias`));
  return x.rank === 2 ? y : tf.reshape(y, [...lead, outDim]);
};
