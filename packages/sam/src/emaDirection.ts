import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { checkNumber } from './numerics';

/** State of {@link emaDirection}: the running direction d_{t−1} (zeros before the first step). */
export interface EmaDirectionState {
  readonly ema: Params;
}

/**
 * VaSSO's variance-suppressed direction (Li & Giannakis 2023, "Enhancing Sharpness-Aware
 * Optimization Through Variance Suppression", NeurIPS):
 *
 *   d_t = (1 − θ) d_{t−1} + θ g_t,    ε = ρ d_t/‖d_t‖ (follow with `normalize()`).
 *
 * The EMA persists across steps (never reset). θ = 1 gives d_t = g_t exactly: SAM.
 */
export const emaDirection = (options: { readonly theta?: number } = {}): GradientTransformation<EmaDirectionState> => {
  const theta = checkNumber('emaDirection: theta', options.theta ?? 0.9, 0, 1);
  return {
    init: (params) => ({ ema: T.zerosLike(params) }),
    update: (d, state) => {
      const ema = tf.tidy(() => T.zipWith((m, g) => tf.add(tf.mul(m, 1 - theta), tf.mul(g, theta)))(state.ema, d));
      return [T.clone(ema), { ema }];
    },
  };
};
