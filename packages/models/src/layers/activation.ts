import * as tf from '@tensorflow/tfjs-core';

/** The activations models accept by name. */
export type ActivationName = 'relu' | 'tanh' | 'softplus' | 'gelu';

export const activationNames: readonly ActivationName[] = ['relu', 'tanh', 'softplus', 'gelu'];

/**
 * relu(x) = max(0, x); tanh; softplus(x) = log(1 + eˣ);
 * gelu(x) = x·Φ(x) = ½·x·(1 + erf(x/√2)) (exact form, Hendrycks & Gimpel 2016).
 */
export const activation = (name: ActivationName): ((x: tf.Tensor) => tf.Tensor) => {
  switch (name) {
    case 'relu':
      return (x) => tf.relu(x);
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'softplus':
      return (x) => tf.softplus(x);
    case 'gelu':
      return (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  }
};

export const isActivationName = (s: unknown): s is ActivationName =>
  typeof s === 'string' && (activationNames as readonly string[]).includes(s);
