import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { PerturbationStage } from './types';
import { NORM_EPS, checkNumber } from './numerics';

/** Options of {@link fisherPrecondition}. */
export interface FisherOptions {
  /** η in f = 1 + η g² (default 1). */
  readonly eta?: number;
}

/**
 * Fisher SAM's ascent direction (Kim et al. 2022, "Fisher SAM: Information Geometry and
 * Sharpness Aware Minimisation", ICML): with the diagonal empirical Fisher f = 1 + η g²
 * (g the clean gradient),
 *
 *   n = (d/f) / (√(Σ d·(d/f)) + 1e-12),   so ε = γ n satisfies εᵀ f ε = γ² (the ellipsoid).
 *
 * Put it first in the pipeline (d = g). With η = 0, f = 1 and n is SAM's g/(‖g‖ + 1e-12)
 * bit for bit (the same float32 operations in the same order).
 */
export const fisherPrecondition = (options: FisherOptions = {}): PerturbationStage<Record<string, never>> => {
  const eta = checkNumber('fisherPrecondition: eta', options.eta ?? 1, 0);
  return {
    name: 'fisherPrecondition',
    init: () => ({}),
    apply: (d, state, ctx) => {
      T.assertSameStructure(d, ctx.grads, 'fisherPrecondition: direction and grads');
      const out = tf.tidy(() => {
        const p = T.map((x, k) => {
          const g = ctx.grads[k] as tf.Tensor;
          return tf.div(x, tf.add(tf.mul(tf.square(g), eta), 1));
        })(d);
        const denom = tf.add(tf.sqrt(T.vdot(d, p)), NORM_EPS);
        return T.map((x) => tf.div(x, denom))(p);
      });
      return [out, state];
    },
  };
};
