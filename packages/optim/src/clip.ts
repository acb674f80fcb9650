import * as tf from '@tensorflow/tfjs-core';
import { map, norm } from '@lets/tree';
import type { GradientTransformation } from './types';
import type { EmptyState } from './identity';
import { check, nonNegative, positive } from './util';

/**
 * Rescales the whole tree so that its global L2 norm is at most `maxNorm`:
 *
 *   u = g · min(1, maxNorm / ‖g‖),   ‖g‖ = √(Σ over every leaf and element of g²)
 *
 * Below the threshold the updates are unchanged; a zero tree stays zero (maxNorm/0 = ∞).
 * The factor is computed on the device: nothing is read back. optax: `clip_by_global_norm`
 * (Pascanu et al. 2013).
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransformation<EmptyState> => {
  check('clipByGlobalNorm', 'maxNorm', positive, 'a positive number', maxNorm);
  return {
    init: () => ({}),
    update: (updates) => {
      const factor = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, norm(updates))));
      const out = map((x) => tf.mul(x, factor))(updates);
      factor.dispose();
      return [out, {}];
    },
  };
};

/** Element-wise clipping to `[−maxDelta, maxDelta]`. optax: `clip`. */
export const clip = (maxDelta: number): GradientTransformation<EmptyState> => {
  check('clip', 'maxDelta', nonNegative, 'a non-negative number', maxDelta);
  return {
    init: () => ({}),
    update: (updates) => [map((x) => tf.clipByValue(x, -maxDelta, maxDelta))(updates), {}],
  };
};
