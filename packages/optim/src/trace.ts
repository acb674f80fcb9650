import * as tf from '@tensorflow/tfjs-core';
import { addScaled, clone, zerosLike, type Tree } from '@lets/tree';
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
      // The buffers in the updates' order, so the two trees zip.
      const old: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const o = state.trace[k];
        if (o === undefined) throw new Error(`trace: state has no buffer for '${k}' (was init called on these params?)`);
        old[k] = o;
      }
      // g + μ·buf is μ·buf + g with the same bits (IEEE addition commutes), and tree's addScaled
      // runs it as one fused kernel per leaf where the backend has one.
      const buf = addScaled(updates, decay, old);
      return [nesterov ? addScaled(updates, decay, buf) : clone(buf), { trace: buf }];
    },
    // buf' = g + μ·buf: ∂/∂g = I; Nesterov's g + μ·buf' = (1 + μ)·g + μ²·buf.
    gradientScale: () => (nesterov ? 1 + decay : 1),
  };
};
