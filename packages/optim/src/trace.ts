import * as tf from '@tensorflow/tfjs-core';
import { zerosLike, type Tree } from '@lets/tree';
import type { GradientTransformation } from './types';
import { check, unitInterval } from './util';

/** State of {@link trace}: the momentum buffer, one tensor per leaf. */
export interface TraceState {
  readonly trace: Tree;
}

/**
 * Momentum with PyTorch-SGD semantics (dampening 0):
 *
 *   buf ← μ·buf + g        (buf starts at 0, so the first buf is g, as in PyTorch)
 *   u   ← buf              (heavy ball)
 *   u   ← g + μ·buf        (Nesterov, `nesterov: true`)
 *
 * Reference: `torch.optim.SGD` (its documented recurrence); optax `trace`.
 */
export const trace = (options: { readonly decay: number; readonly nesterov?: boolean }): GradientTransformation<TraceState> => {
  const { decay, nesterov = false } = options;
  check('trace', 'decay', unitInterval, 'a number in [0, 1)', decay);
  return {
    init: (params) => ({ trace: zerosLike(params) }),
    update: (updates, state) => {
      const buf: Record<string, tf.Tensor> = {};
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const g = updates[k] as tf.Tensor;
        const old = state.trace[k];
        if (old === undefined) throw new Error(`trace: state has no buffer for '${k}' (was init called on these params?)`);
        const [b, u] = tf.tidy(() => {
          const b = tf.add(tf.mul(old, decay), g);
          return [b, nesterov ? tf.add(g, tf.mul(b, decay)) : tf.clone(b)];
        });
        buf[k] = b;
        out[k] = u;
      }
      return [out, { trace: buf }];
    },
  };
};
