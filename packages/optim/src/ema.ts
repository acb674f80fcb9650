import * as tf from '@tensorflow/tfjs-core';
import { zerosLike, type Tree } from '@lets/tree';
import type { GradientTransformation } from './types';
import { check, unitInterval } from './util';

/** State of {@link ema}: step count (host number) and the running average. */
export interface EmaState {
  readonly count: number;
  readonly ema: Tree;
}

/**
 * Exponential moving average of the updates (optax: `ema`):
 *
 *   m ← decay·m + (1 − decay)·g   (m starts at 0)
 *   u = m,  or with `debias: true` (default)  u = m / (1 − decay^t)   (t the 1-based step)
 *
 * With `debias` the first output is exactly g, as in Adam's bias correction.
 */
export const ema = (decay: number, options: { readonly debias?: boolean } = {}): GradientTransformation<EmaState> => {
  check('ema', 'decay', unitInterval, 'a number in [0, 1)', decay);
  const debias = options.debias ?? true;
  return {
    init: (params) => ({ count: 0, ema: zerosLike(params) }),
    update: (updates, state) => {
      const t = state.count + 1;
      const c = debias ? 1 - Math.pow(decay, t) : 1;
      const m: Record<string, tf.Tensor> = {};
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const m0 = state.ema[k];
        if (m0 === undefined) throw new Error(`ema: state has no average for '${k}' (was init called on these params?)`);
        const [a, u] = tf.tidy(() => {
          const a = tf.add(tf.mul(m0, decay), tf.mul(updates[k] as tf.Tensor, 1 - decay));
          return [a, c === 1 ? tf.clone(a) : tf.div(a, c)];
        });
        m[k] = a;
        out[k] = u;
      }
      return [out, { count: t, ema: m }];
    },
  };
};
