import * as tf from '@tensorflow/tfjs-core';
import { ActivationName, activation, activationNames } from './layers/activation';
import { dense, denseSpecs } from './layers/dense';
import { defineModel } from './model';
import { checkKnownKeys, oneOf, positiveInt, positiveInts, rate } from './options';
import type { TensorSpec } from './spec';
import type { Model } from './types';

export interface MlpOptions {
  /** Features per example; inputs of any shape with this many elements per example are flattened. Default 784. */
  readonly inputDim: number;
  /** Widths of the hidden layers. Default [256, 256]. */
  readonly hidden: readonly number[];
  /** Default 10. */
  readonly numClasses: number;
  /** Default 'relu'. */
  readonly activation: ActivationName;
  /** Dropout after each hidden activation (training only). Default 0. */
  readonly dropout: number;
}

export const mlpDefaults: MlpOptions = { inputDim: 784, hidden: [256, 256], numClasses: 10, activation: 'relu', dropout: 0 };

/**
 * Multi-layer perceptron: h₀ = flatten(x), hᵢ = dropout(act(hᵢ₋₁·Wᵢ + bᵢ)), logits = h·W + b.
 * Paths: `dense0/kernel`, `dense0/bias`, …, `head/kernel`, `head/bias`. No state.
 */
export const mlp = (options: Partial<MlpOptions> = {}): Model => {
  const name = 'mlp';
  checkKnownKeys(name, options, Object.keys(mlpDefaults));
  const o = { ...mlpDefaults, ...options };
  const inputDim = positiveInt(name, 'inputDim', o.inputDim);
  const hidden = positiveInts(name, 'hidden', o.hidden);
  const numClasses = positiveInt(name, 'numClasses', o.numClasses);
  const act = activation(oneOf(name, 'activation', o.activation, activationNames));
  // ReLU layers take the bias and the ReLU in one fused op (layers/biasRelu.ts, the same values);
  // other activations follow the layer.
  const relu = o.activation === 'relu';
  const after = relu ? (t: tf.Tensor): tf.Tensor => t : act;
  const dropout = rate(name, 'dropout', o.dropout);

  const widths = [inputDim, ...hidden];
  const params: TensorSpec[] = [];
  hidden.forEach((w, i) => params.push(...denseSpecs(`dense${i}`, widths[i] as number, w)));
  params.push(...denseSpecs('head', widths[widths.length - 1] as number, numClasses));

  return defineModel({
    name,
    inputShape: [inputDim],
    inputDtype: 'float32',
    numClasses,
    params,
    state: [],
    usesDropout: dropout > 0 && hidden.length > 0,
    acceptsExampleShape: (s) => s.reduce((a, b) => a * b, 1) === inputDim,
    forward: (ctx, x) => {
      let h = tf.reshape(x, [x.shape[0] as number, inputDim]);
      hidden.forEach((_, i) => {
        h = ctx.dropout(after(dense(ctx, `dense${i}`, h, true, { relu })), dropout);
      });
      return dense(ctx, 'head', h);
    },
  });
};
