import * as tf from '@tensorflow/tfjs-core';
import { BatchNormConfig, batchNorm, batchNormSpecs, defaultBatchNorm } from './layers/batchNorm';
import { conv2d, conv2dSpecs } from './layers/conv2d';
import { dense, denseSpecs } from './layers/dense';
import { defineModel } from './model';
import { checkKnownKeys, imageShape, oneOf, positiveInt, rate } from './options';
import type { TensorSpec } from './spec';
import type { Model } from './types';

export interface WideResNetOptions {
  /** Total depth d; (d − 4) must be divisible by 6. Default 28. */
  readonly depth: number;
  /** Widening factor k. Default 10. */
  readonly widen: number;
  /** Stem width; the groups have base·k, 2·base·k, 4·base·k channels. Default 16. */
  readonly baseWidth: number;
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Dropout between the two convs of each block (training only). Default 0. */
  readonly dropout: number;
  /** He-normal fan mode of the convs. Default 'fan_out' (the WRN reference initialization). */
  readonly fanMode: 'fan_in' | 'fan_out';
  readonly batchNorm: BatchNormConfig;
}

export const wideResnetDefaults: WideResNetOptions = {
  depth: 28,
  widen: 10,
  baseWidth: 16,
  inputShape: [32, 32, 3],
  numClasses: 10,
  dropout: 0,
  fanMode: 'fan_out',
  batchNorm: defaultBatchNorm,
};

/**
 * Wide ResNet WRN-d-k, Zagoruyko & Komodakis, "Wide Residual Networks" (2016), CIFAR form with
 * pre-activation blocks as in the reference implementation (and xternalz/WideResNet-pytorch):
 *   a = relu(bn1(x)); out = conv2(dropout(relu(bn2(conv1(a, stride)))));
 *   y = out + (x if the shape is unchanged, else conv1×1(a, stride)).
 * n = (d − 4)/6 blocks in each of 3 groups (strides 1, 2, 2), a 3×3 stem conv, and a final
 * BN → relu → global average pool → dense. Convs have no bias.
 * WRN-28-10 for CIFAR-10 has 36,479,194 parameters and WRN-16-8 has 10,961,370.
 *
 * Paths: `stem/conv/kernel`, `group1/block0/{bn1,conv1,bn2,conv2,shortcut}/…`, `final/bn/…`, `fc/…`.
 */
export const wideResnet = (options: Partial<WideResNetOptions> = {}): Model => {
  const checkName = 'wrn';
  checkKnownKeys(checkName, options, Object.keys(wideResnetDefaults));
  const o = { ...wideResnetDefaults, ...options };
  const depth = positiveInt(checkName, 'depth', o.depth);
  if (depth < 10 || (depth - 4) % 6 !== 0) {
    throw new Error(`${checkName}: option 'depth' must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), got ${depth}`);
  }
  const widen = positiveInt(checkName, 'widen', o.widen);
  const base = positiveInt(checkName, 'baseWidth', o.baseWidth);
  const [h0, w0, c0] = imageShape(checkName, 'inputShape', o.inputShape);
  const numClasses = positiveInt(checkName, 'numClasses', o.numClasses);
  const dropout = rate(checkName, 'dropout', o.dropout);
  const fanMode = oneOf(checkName, 'fanMode', o.fanMode, ['fan_in', 'fan_out'] as const);
  const bnCfg = o.batchNorm;
  const n = (depth - 4) / 6;

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
  addConv('stem/conv', 3, c0, base);
  let inC = base;
  [1, 2, 4].forEach((mult, g) => {
    const outC = base * widen * mult;
    for (let b = 0; b < n; b++) {
      const stride = g > 0 && b === 0 ? 2 : 1;
      const prefix = `group${g + 1}/block${b}`;
      const projection = inC !== outC || stride !== 1;
      addBn(`${prefix}/bn1`, inC);
      addConv(`${prefix}/conv1`, 3, inC, outC);
      addBn(`${prefix}/bn2`, outC);
      addConv(`${prefix}/conv2`, 3, outC, outC);
      if (projection) addConv(`${prefix}/shortcut/conv`, 1, inC, outC);
      plan.push({ prefix, stride, projection });
      inC = outC;
    }
  });
  addBn('final/bn', inC);
  params.push(...denseSpecs('fc', inC, numClasses));

  return defineModel({
    name: `wrn-${depth}-${widen}`,
    inputShape: [h0, w0, c0],
    inputDtype: 'float32',
    numClasses,
    params,
    state,
    usesDropout: dropout > 0,
    forward: (ctx, x) => {
      const bn = (path: string, t: tf.Tensor): tf.Tensor => batchNorm(ctx, path, t, bnCfg);
      let y: tf.Tensor = conv2d(ctx, 'stem/conv', x, { bias: false });
      for (const { prefix, stride, projection } of plan) {
        const a = tf.relu(bn(`${prefix}/bn1`, y));
        let out: tf.Tensor = tf.relu(bn(`${prefix}/bn2`, conv2d(ctx, `${prefix}/conv1`, a, { stride, bias: false })));
        out = conv2d(ctx, `${prefix}/conv2`, ctx.dropout(out, dropout), { bias: false });
        const shortcut = projection ? conv2d(ctx, `${prefix}/shortcut/conv`, a, { stride, bias: false }) : y;
        y = tf.add(out, shortcut);
      }
      y = tf.relu(bn('final/bn', y));
      return dense(ctx, 'fc', tf.mean(y, [1, 2]));
    },
  });
};
