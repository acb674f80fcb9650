import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { Params } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { checkNumber } from './numerics';

/** State of {@link subtractEma}: the EMA m_{t−1} of past directions (zeros before the first step). */
export interface SubtractEmaState {
  readonly ema: Params;
}

/**
 * Friendly SAM's "remove the full-gradient component" (Li et al. 2024, "Friendly
 * Sharpness-Aware Minimization", CVPR):
 *
 *   d = g − σ m_{t−1};   m_t = λ m_{t−1} + (1 − λ) g;   ε = ρ d/‖d‖ (follow with `normalize()`).
 *
 * m estimates the full-batch gradient; what is left is the batch-specific noise, which F-SAM
 * argues is what makes the ascent useful. The EMA persists across steps. σ = 0 is SAM exactly.
 */
export const subtractEma = (
  options: { readonly sigma?: number; readonly lambda?: number } = {},
): GradientTransformation<SubtractEmaState> => {
  const sigma = checkNumber('subtractEma: sigma', options.sigma ?? 1);
  const lambda = checkNumber('subtractEma: lambda', options.lambda ?? 0.95, 0, 1);
  return {
    init: (params) => ({ ema: T.zerosLike(params) }),
    update: (d, state) =>
      tf.tidy(() => {
        const out = T.zipWith((g, m) => tf.sub(g, tf.mul(m, sigma)))(d, state.ema);
        const ema = T.zipWith((m, g) => tf.add(tf.mul(m, lambda), tf.mul(g, 1 - lambda)))(state.ema, d);
        return [out, { ema }] as const;
      }) as unknown as readonly [Params, SubtractEmaState],
  };
};
