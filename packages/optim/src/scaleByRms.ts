import * as tf from '@tensorflow/tfjs-core';
import { fullLike, type Tree } from '@lets/tree';
import type { GradientTransformation } from './types';
import { check, nonNegative, unitInterval } from './util';

/** State of {@link scaleByRms}: the running mean of squared updates. */
export interface RmsState {
  readonly nu: Tree;
}

/**
 * RMSProp's rescaling (Tieleman & Hinton 2012), in the form of `torch.optim.RMSprop`:
 *
 *   v ← decay·v + (1 − decay)·g²     (v starts at `initialScale`, default 0)
 *   u = g / (√v + eps)
 *
 * Defaults: decay 0.9 and eps 1e-8 (optax `scale_by_rms` with `eps_in_sqrt=False`; PyTorch
 * uses alpha 0.99). No bias correction.
 */
export const scaleByRms = (
  options: { readonly decay?: number; readonly eps?: number; readonly initialScale?: number } = {},
): GradientTransformation<RmsState> => {
  const { decay = 0.9, eps = 1e-8, initialScale = 0 } = options;
  check('scaleByRms', 'decay', unitInterval, 'a number in [0, 1)', decay);
  check('scaleByRms', 'eps', nonNegative, 'a non-negative number', eps);
  check('scaleByRms', 'initialScale', nonNegative, 'a non-negative number', initialScale);
  return {
    init: (params) => ({ nu: fullLike(params, initialScale) }),
    update: (updates, state) => {
      const nu: Record<string, tf.Tensor> = {};
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const g = updates[k] as tf.Tensor;
        const v0 = state.nu[k];
        if (v0 === undefined) throw new Error(`scaleByRms: state has no average for '${k}' (was init called on these params?)`);
        const [v, u] = tf.tidy(() => {
          const v = tf.add(tf.mul(v0, decay), tf.mul(tf.square(g), 1 - decay));
          return [v, tf.div(g, tf.add(tf.sqrt(v), eps))];
        });
        nu[k] = v;
        out[k] = u;
      }
      return [out, { nu }];
    },
  };
};
