import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { ascentExtraOf } from './types';
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
 * Put it first in the ascent chain (d = g). With η = 0, f = 1 and n is SAM's g/(‖g‖ + 1e-12)
 * bit for bit (the same float32 operations in the same order).
 */
export const fisherPrecondition = (options: FisherOptions = {}): GradientTransformation<Record<string, never>> => {
  const eta = checkNumber('fisherPrecondition: eta', options.eta ?? 1, 0);
  return {
    init: () => ({}),
    update: (d, state, _params, extra) => {
      const { cleanGrads } = ascentExtraOf(extra, 'fisherPrecondition');
      for (const k of Object.keys(d)) {
        const g = cleanGrads[k];
        if (g === undefined || g.size !== (d[k] as tf.Tensor).size) {
          throw new Error(`fisherPrecondition: direction leaf '${k}' has no clean gradient of its shape (expected a sub-tree of the clean gradients)`);
        }
      }
      const out = tf.tidy(() => {
        const p = T.map((x, k) => {
          const g = cleanGrads[k] as tf.Tensor;
          return tf.div(x, tf.add(tf.mul(tf.square(g), eta), 1));
        })(d);
        const denom = tf.add(tf.sqrt(T.vdot(d, p)), NORM_EPS);
        return T.map((x) => tf.div(x, denom))(p);
      });
      return [out, state];
    },
  };
};
