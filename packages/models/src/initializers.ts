import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@lets/runtime';

/**
 * How a tensor is initialized. Fans follow the usual convention: a dense kernel `[in, out]`
 * has fan_in = in, fan_out = out; a conv kernel `[kh, kw, in, out]` has
 * fan_in = kh·kw·in, fan_out = kh·kw·out.
 *
 * - `heNormal`: N(0, 2/fan), He et al., "Delving deep into rectifiers" (2015). `fan_in`
 *   preserves the variance of activations in the forward pass, `fan_out` the variance of
 *   gradients in the backward pass (PyTorch `kaiming_normal_(mode=..., nonlinearity='relu')`).
 * - `glorotUniform`: U(−a, a) with a = √(6 / (fan_in + fan_out)), Glorot & Bengio (2010)
 *   (Keras's default for dense kernels).
 * - `normal`: N(0, std²) (token and position embeddings, std 0.02 as in BERT).
 * - `zeros`, `ones`: constants (biases, BatchNorm β and γ, running mean and variance).
 */
export type Initializer =
  | { readonly kind: 'heNormal'; readonly mode: 'fan_in' | 'fan_out' }
  | { readonly kind: 'glorotUniform' }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' };

export const zeros: Initializer = { kind: 'zeros' };
export const ones: Initializer = { kind: 'ones' };
export const glorotUniform: Initializer = { kind: 'glorotUniform' };
export const heNormal = (mode: 'fan_in' | 'fan_out'): Initializer => ({ kind: 'heNormal', mode });
export const normal = (std: number): Initializer => ({ kind: 'normal', std });

/** fan_in and fan_out of a dense `[in, out]` or conv `[kh, kw, in, out]` kernel. */
export const fans = (shape: readonly number[]): { fanIn: number; fanOut: number } => {
  if (shape.length < 2) {
    throw new Error(`fans: expected a kernel of rank >= 2 ([in, out] or [kh, kw, in, out]), got shape [${shape.join(', ')}]`);
  }
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return {
    fanIn: receptive * (shape[shape.length - 2] as number),
    fanOut: receptive * (shape[shape.length - 1] as number),
  };
};

/** Fills a Float32Array of `shape` according to `init`, drawing from `rng`. */
export const sample = (init: Initializer, shape: readonly number[], rng: Rng): Float32Array => {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal':
      return rng.fillNormal(out, 0, init.std);
    case 'heNormal': {
      const { fanIn, fanOut } = fans(shape);
      return rng.fillNormal(out, 0, Math.sqrt(2 / (init.mode === 'fan_in' ? fanIn : fanOut)));
    }
    case 'glorotUniform': {
      const { fanIn, fanOut } = fans(shape);
      const a = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = a * (2 * rng.nextFloat() - 1);
      return out;
    }
  }
};

/** Builds a float32 tensor of `shape` from `init` and `rng`. */
export const initTensor = (init: Initializer, shape: readonly number[], rng: Rng): tf.Tensor =>
  tf.tensor(sample(init, shape, rng), shape as number[], 'float32');
