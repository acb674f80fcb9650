import * as tf from '@tensorflow/tfjs-core';
import { BatchNormConfig, batchNorm, batchNormSpecs, defaultBatchNorm } from './layers/batchNorm';
import { conv2d, conv2dSpecs } from './layers/conv2d';
import { dense, denseSpecs } from './layers/dense';
import { defineModel } from './model';
import { checkKnownKeys, imageShape, oneOf, positiveInt, positiveInts } from './options';
import type { TensorSpec } from './spec';
import type { Model } from './types';

export interface ResNetOptions {
  /** Default [32, 32, 3]. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Channels of the stem and the first stage; stage s has width·2ˢ. Default 64. */
  readonly width: number;
  /** BasicBlocks per stage. Default [2, 2, 2, 2] (ResNet-18). */
  readonly blocks: readonly number[];
  /** He-normal fan mode of the convs. Default 'fan_out' (torchvision's ResNet init). */
  readonly fanMode: 'fan_in' | 'fan_out';
  readonly batchNorm: BatchNormConfig;
}

export const resnetDefaults: ResNetOptions = {
  inputShape: [32, 32, 3],
  numClasses: 10,
  width: 64,
  blocks: [2, 2, 2, 2],
  fanMode: 'fan_out',
  batchNorm: defaultBatchNorm,
};

/**
 * ResNet with BasicBlocks in its CIFAR form (He et al., "Deep residual learning", 2016; the
 * CIFAR variant used by the SAM papers, e.g. kuangliu/pytorch-cifar): a 3×3 stride-1 stem conv
 * (no 7×7 conv, no max-pool), stages of BasicBlocks
 *   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
 * where shortcut is identity, or a 1×1 strided conv + BN when the shape changes; then global
 * average pooling and a dense layer. Convs have no bias (BN follows each one).
 * The defaults are ResNet-18 for CIFAR-10: 11,173,962 parameters.
 *
 * Paths: `stem/conv/kernel`, `stem/bn/{gamma,beta}`, `stage1/block0/{conv1,bn1,conv2,bn2}/…`,
 * `stage2/block0/shortcut/{conv,bn}/…`, `fc/{kernel,bias}`; BN running statistics are state
 * under the same prefixes (`…/bn1/mean`, `…/bn1/variance`).
 */
export const resnet = (options: Partial<ResNetOptions> = {}): Model => {
  const name = 'resnet';
  checkKnownKeys(name, options, Object.keys(resnetDefaults));
  const o = { ...resnetDefaults, ...options };
  const [h0, w0, c0] = imageShape(name, 'inputShape', o.inputShape);
  const numClasses = positiveInt(name, 'numClasses', o.numClasses);
  const width = positiveInt(name, 'width', o.width);
  const blocks = positiveInts(name, 'blocks', o.blocks, 1);
  const fanMode = oneOf(name, 'fanMode', o.fanMode, ['fan_in', 'fan_out'] as const);
  const bnCfg = o.batchNorm;

  const params: TensorSpec[] = [];
  const state: TensorSpec[] = [];
  const addConv = (path: string, k: number, inC: number, outC: number): void => {
    params.push(...conv2dSpecs(path, k, inC, outC, { bias: false, fanMode }));
  };
  const addBn = (path: string, c: number): void => {
    const s = batchNormSpecs(path, c);
    params.push(...s.params);
    state.push(...s.state);
  };

  interface Block {
    readonly prefix: string;
    readonly stride: number;
    readonly projection: boolean;
  }
  const plan: Block[] = [];
  addConv('stem/conv', 3, c0, width);
  addBn('stem/bn', width);
  let inC = width;
  blocks.forEach((n, s) => {
    const outC = width * 2 ** s;
    for (let b = 0; b < n; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const prefix = `stage${s + 1}/block${b}`;
      const projection = stride !== 1 || inC !== outC;
      addConv(`${prefix}/conv1`, 3, inC, outC);
      addBn(`${prefix}/bn1`, outC);
      addConv(`${prefix}/conv2`, 3, outC, outC);
      addBn(`${prefix}/bn2`, outC);
      if (projection) {
        addConv(`${prefix}/shortcut/conv`, 1, inC, outC);
        addBn(`${prefix}/shortcut/bn`, outC);
      }
      plan.push({ prefix, stride, projection });
      inC = outC;
    }
  });
  params.push(...denseSpecs('fc', inC, numClasses));

  return defineModel({
    name,
    inputShape: [h0, w0, c0],
    inputDtype: 'float32',
    numClasses,
    params,
    state,
    usesDropout: false,
    forward: (ctx, x) => {
      const bn = (path: string, t: tf.Tensor): tf.Tensor => batchNorm(ctx, path, t, bnCfg);
      let y = tf.relu(bn('stem/bn', conv2d(ctx, 'stem/conv', x, { bias: false })));
      for (const { prefix, stride, projection } of plan) {
        let out = tf.relu(bn(`${prefix}/bn1`, conv2d(ctx, `${prefix}/conv1`, y, { stride, bias: false })));
        out = bn(`${prefix}/bn2`, conv2d(ctx, `${prefix}/conv2`, out, { bias: false }));
        const shortcut = projection
          ? bn(`${prefix}/shortcut/bn`, conv2d(ctx, `${prefix}/shortcut/conv`, y, { stride, bias: false }))
          : y;
        y = tf.relu(tf.add(out, shortcut));
      }
      return dense(ctx, 'fc', tf.mean(y, [1, 2]));
    },
  });
};

/** ResNet-18 (CIFAR form): `resnet({blocks: [2, 2, 2, 2], width: 64, ...options})`. */
export const resnet18 = (options: Partial<ResNetOptions> = {}): Model => resnet({ blocks: [2, 2, 2, 2], ...options });
