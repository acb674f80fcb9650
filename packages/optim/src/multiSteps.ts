import * as tf from '@tensorflow/tfjs-core';
import { zerosLike, type Params, type Tree } from '@lets/tree';
import type { Extra, GradientTransformation } from './types';
import { checkInner } from './wrapperArgs';
import { cloneState, positiveInteger } from './util';

/** State of {@link multiSteps}: calls into the current accumulation, the running sum, the inner state. */
export interface MultiStepsState<S> {
  readonly miniStep: number;
  readonly accumulated: Tree;
  readonly inner: S;
}

/**
 * Gradient accumulation over `k` calls (optax: `MultiSteps`). Calls 1 … k−1 add the incoming
 * updates to a running sum and emit zeros (so `applyUpdates` leaves the params where they are)
 * with the inner state unchanged; call k emits `inner.update(sum / k)` and resets the sum.
 * The effective batch is k times larger; the inner transform counts one step per k calls.
 *
 * `multiSteps(inner, k)`, nested as optax's `MultiSteps(opt, every_k_schedule)`.
 *
 * Law (property-tested): `multiSteps(t, 1) ≡ t`.
 */
export const multiSteps = <S>(inner: GradientTransformation<S>, k: number): GradientTransformation<MultiStepsState<S>> => {
  checkInner('multiSteps', inner, 'multiSteps(inner, k)');
  if (!positiveInteger(k)) throw new Error(`multiSteps: k must be a positive integer, got ${String(k)}`);
  return ({
    init: (params) => ({ miniStep: 0, accumulated: zerosLike(params), inner: inner.init(params) }),
    update: (updates: Params, state: MultiStepsState<S>, params?: Params, extra?: Extra) => {
      const acc: Record<string, tf.Tensor> = {};
      for (const key of Object.keys(updates)) {
        const a = state.accumulated[key];
        if (a === undefined) throw new Error(`multiSteps: state has no accumulator for '${key}'`);
        acc[key] = tf.add(a, updates[key] as tf.Tensor);
      }
      if (state.miniStep + 1 < k) {
        const zeros = zerosLike(updates);
        return [zeros, { miniStep: state.miniStep + 1, accumulated: acc, inner: cloneState(state.inner) }] as const;
      }
      const mean: Record<string, tf.Tensor> = {};
      for (const key of Object.keys(acc)) {
        mean[key] = k === 1 ? (acc[key] as tf.Tensor) : tf.div(acc[key] as tf.Tensor, k);
      }
      const [u, s] = inner.update(mean, state.inner, params, extra);
      for (const key of Object.keys(acc)) {
        (acc[key] as tf.Tensor).dispose();
        if (k !== 1) (mean[key] as tf.Tensor).dispose();
      }
      return [u, { miniStep: 0, accumulated: zerosLike(updates), inner: s }] as const;
    },
  });
};
