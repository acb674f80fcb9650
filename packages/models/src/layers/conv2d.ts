import * as tf from '@tensorflow/tfjs-core';
import { heNormal, zeros } from '../initializers';
import type { ForwardContext } from '../model';
import type { TensorSpec } from '../spec';
import { biasRelu } from './biasRelu';

/**
 * 2-D convolution over NHWC input with a `[k, k, in, out]` kernel (He-normal with the given fan
 * mode) and an optional zero-initialized bias.
 *
 * Padding is PyTorch's: (k − 1)/2 zeros on every side, so a stride-2 3×3 conv on a 32×32 input
 * gives 16×16 exactly as `nn.Conv2d(..., padding=1)` does (tfjs's 'same' would pad only
 * bottom/right). Stride 1 uses 'same', which is the same thing for odd k.
 * `relu: true` applies a ReLU after the bias (one fused kernel where the backend has it).
 */
export const conv2dSpecs = (
  name: string,
  k: number,
  inC: number,
  outC: number,
  opts: { bias: boolean; fanMode: 'fan_in' | 'fan_out' },
): TensorSpec[] => [
  { path: `${name}/kernel`, shape: [k, k, inC, outC], init: heNormal(opts.fanMode) },
  ...(opts.bias ? [{ path: `${name}/bias`, shape: [outC], init: zeros }] : []),
];

export const conv2d = (
  ctx: ForwardContext,
  name: string,
  x: tf.Tensor,
  opts: { stride?: number; bias: boolean; relu?: boolean },
): tf.Tensor4D => {
  const w = ctx.param(`${name}/kernel`) as tf.Tensor4D;
  const k = w.shape[0];
  if (k % 2 !== 1) throw new Error(`conv2d '${name}': kernel size must be odd, got ${k}`);
  const stride = opts.stride ?? 1;
  const pad = stride === 1 ? 'same' : (k - 1) / 2;
  const y = tf.conv2d(x as tf.Tensor4D, w, stride, pad);
  // With relu: relu(conv + b), through the backend's fused bias-and-ReLU where it has one.
  if (opts.relu === true) return (opts.bias ? biasRelu(y, ctx.param(`${name}/bias`)) : tf.relu(y)) as tf.Tensor4D;
  return opts.bias ? tf.add(y, ctx.param(`${name}/bias`)) : y;
};
