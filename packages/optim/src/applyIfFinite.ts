import * as tf from '@tensorflow/tfjs-core';
import { isFinite as treeIsFinite, zerosLike, type Params } from '@lets/tree';
import type { Extra, GradientTransformation } from './types';
import { cloneState } from './util';
import { checkInner } from './wrapperArgs';

/** State of {@link applyIfFinite}. */
export interface ApplyIfFiniteState<S> {
  /** Consecutive skipped updates (reset by a finite one). */
  readonly notFiniteCount: number;
  /** Skipped updates in total. */
  readonly totalNotFinite: number;
  /** Whether the last update was finite. */
  readonly lastFinite: boolean;
  readonly inner: S;
}

/**
 * `applyIfFinite(inner, { maxConsecutiveErrors })` (optax: `apply_if_finite(inner, max_consecutive_errors)`): when any incoming update is NaN or ±Inf,
 * skips the step — emits zeros and keeps the inner state — and counts it; otherwise applies
 * `inner`. After more than `maxConsecutiveErrors` consecutive skips (default: never) the update
 * is applied anyway, as in optax `apply_if_finite`.
 *
 * Cost: one boolean read from the device per step (`isFinite` over the whole tree, reduced on
 * the device to one scalar, then `dataSync`): the counts are host numbers, so the step has to
 * know. Nothing else is read back.
 */
export const applyIfFinite = <S>(
  inner: GradientTransformation<S>,
  options: { readonly maxConsecutiveErrors?: number } = {},
): GradientTransformation<ApplyIfFiniteState<S>> => {
  checkInner('applyIfFinite', inner, 'applyIfFinite(inner, { maxConsecutiveErrors })');
  const max = options.maxConsecutiveErrors ?? Infinity;
  if (!(max >= 0)) throw new Error(`applyIfFinite: maxConsecutiveErrors must be ≥ 0, got ${String(max)}`);
  return ({
    init: (params) => ({ notFiniteCount: 0, totalNotFinite: 0, lastFinite: true, inner: inner.init(params) }),
    update: (updates: Params, state: ApplyIfFiniteState<S>, params?: Params, extra?: Extra) => {
      const flag = treeIsFinite(updates);
      const finite = (flag.dataSync()[0] as number) !== 0;
      flag.dispose();
      if (finite || state.notFiniteCount > max) {
        const [u, s] = inner.update(updates, state.inner, params, extra);
        return [
          u,
          {
            notFiniteCount: finite ? 0 : state.notFiniteCount + 1,
            totalNotFinite: state.totalNotFinite + (finite ? 0 : 1),
            lastFinite: finite,
            inner: s,
          },
        ] as const;
      }
      return [
        zerosLike(updates),
        {
          notFiniteCount: state.notFiniteCount + 1,
          totalNotFinite: state.totalNotFinite + 1,
          lastFinite: false,
          inner: cloneState(state.inner),
        },
      ] as const;
    },
  });
};
