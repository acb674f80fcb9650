import * as tf from '@tensorflow/tfjs-core';
import { ActivationName, activation, activationNames } from './layers/activation';
import { conv2d, conv2dSpecs } from './layers/conv2d';
import { dense, denseSpecs } from './layers/dense';
import { defineModel } from './model';
import { checkKnownKeys, imageShape, oneOf, positiveInt, positiveInts, rate } from './options';
import type { TensorSpec } from './spec';
import type { Model } from './types';

export interface CnnOptions {
  /** [height, width, channels]: [28, 28, 1] (MNIST family, the default) or [32, 32, 3] (CIFAR). */
  readonly inputShape: readonly [number, number, number];
  /** Output channels of each conv stage (each stage: conv → act → 2×2 pool). Default [16, 32]. */
  readonly channels: readonly number[];
  /** Odd square kernel size. Default 3. */
  readonly kernelSize: number;
  /** Width of the hidden dense layer (0: none). Default 128. */
  readonly hidden: number;
  readonly numClasses: number;
  readonly activation: ActivationName;
  /**
   * 'avg' (default) or 'max'. Average pooling is the default because its gradient is twice
   * differentiable with the runtime's second-order patches while MaxPoolGrad is not
   * (FINDINGS §3), and the LETS hypergradient needs Hessian-vector products.
   */
  readonly pool: 'avg' | 'max';
  /** Dropout before the hidden and the output dense layers (training only). Default 0. */
  readonly dropout: number;
  /** He-normal fan mode of the conv kernels. Default 'fan_in' (no BatchNorm here, so keep the forward variance). */
  readonly fanMode: 'fan_in' | 'fan_out';
}

export const cnnDefaults: CnnOptions = {
  inputShape: [28, 28, 1],
  channels: [16, 32],
  kernelSize: 3,
  hidden: 128,
  numClasses: 10,
  activation: 'relu',
  pool: 'avg',
  dropout: 0,
  fanMode: 'fan_in',
};

/**
 * LeNet-style CNN for small images (NHWC):
 * [conv k×k ('same') + bias → act → pool 2×2/2] per entry of `channels`, then flatten →
 * [dropout → dense(hidden) → act] → dropout → dense(numClasses).
 * With the defaults on 28×28×1: 160 + 4,640 + 200,832 + 1,290 = 206,922 parameters.
 * Paths: `conv0/kernel`, `conv0/bias`, `conv1/…`, `fc/…`, `head/…`. No state.
 */
export const cnn = (options: Partial<CnnOptions> = {}): Model => {
  const name = 'cnn';
  checkKnownKeys(name, options, Object.keys(cnnDefaults));
  const o = { ...cnnDefaults, ...options };
  const [h0, w0, c0] = imageShape(name, 'inputShape', o.inputShape);
  const channels = positiveInts(name, 'channels', o.channels, 1);
  const k = positiveInt(name, 'kernelSize', o.kernelSize);
  if (k % 2 !== 1) throw new Error(`${name}: option 'kernelSize' must be odd, got ${k}`);
  const hidden = o.hidden === 0 ? 0 : positiveInt(name, 'hidden', o.hidden);
  const numClasses = positiveInt(name, 'numClasses', o.numClasses);
  const act = activation(oneOf(name, 'activation', o.activation, activationNames));
  // ReLU layers take the bias and the ReLU in one fused op (layers/biasRelu.ts, the same values);
  // other activations follow the layer.
  const relu = o.activation === 'relu';
  const after = relu ? (t: tf.Tensor): tf.Tensor => t : act;
  const pool = oneOf(name, 'pool', o.pool, ['avg', 'max'] as const);
  const dropout = rate(name, 'dropout', o.dropout);
  const fanMode = oneOf(name, 'fanMode', o.fanMode, ['fan_in', 'fan_out'] as const);

  let h = h0;
  let w = w0;
  channels.forEach(() => {
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  });
  if (h < 1 || w < 1) {
    throw new Error(`${name}: input ${h0}×${w0} is too small for ${channels.length} 2×2 pooling stages`);
  }
  const flat = h * w * (channels[channels.length - 1] as number);

  const params: TensorSpec[] = [];
  const ins = [c0, ...channels];
  channels.forEach((c, i) => params.push(...conv2dSpecs(`conv${i}`, k, ins[i] as number, c, { bias: true, fanMode })));
  if (hidden > 0) params.push(...denseSpecs('fc', flat, hidden));
  params.push(...denseSpecs('head', hidden > 0 ? hidden : flat, numClasses));

  const poolFn = (x: tf.Tensor4D): tf.Tensor4D => (pool === 'avg' ? tf.avgPool(x, 2, 2, 'valid') : tf.maxPool(x, 2, 2, 'valid'));

  return defineModel({
    name,
    inputShape: [h0, w0, c0],
    inputDtype: 'float32',
    numClasses,
    params,
    state: [],
    usesDropout: dropout > 0,
    forward: (ctx, x) => {
      let y = x as tf.Tensor4D;
      channels.forEach((_, i) => {
        y = poolFn(after(conv2d(ctx, `conv${i}`, y, { bias: true, relu })) as tf.Tensor4D);
      });
      let z: tf.Tensor = tf.reshape(y, [x.shape[0] as number, flat]);
      if (hidden > 0) z = after(dense(ctx, 'fc', ctx.dropout(z, dropout), true, { relu }));
      return dense(ctx, 'head', ctx.dropout(z, dropout));
    },
  });
};
