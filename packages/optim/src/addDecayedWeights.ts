import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '@lets/tree';
import type { GradientTransformation, ScalarOrSchedule } from './types';
import type { CountState } from './scale';
import { masked, type Mask, type MaskedState } from './masked';
import { check, needParams, nonNegative, valueAt } from './util';

/**
 * Weight decay as an update term: `u ↦ u + wd·w` (`w` the params), with `wd` a number or a
 * schedule of the step count. Followed by `scaleByLearningRate(lr)` this is decoupled weight
 * decay `w ← w − lr·(u + wd·w)` (AdamW, Loshchilov & Hutter 2019); before a momentum `trace`
 * it is PyTorch-SGD's coupled `weight_decay`. optax: `add_decayed_weights`.
 *
 * With `mask`, only the leaves it selects are decayed; the others pass through (see {@link masked}).
 */
export function addDecayedWeights(weightDecay: ScalarOrSchedule): GradientTransformation<CountState>;
export function addDecayedWeights(
  weightDecay: ScalarOrSchedule,
  options: { readonly mask: Mask },
): GradientTransformation<MaskedState<CountState>>;
export function addDecayedWeights(
  weightDecay: ScalarOrSchedule,
  options?: { readonly mask?: Mask },
): GradientTransformation<CountState> | GradientTransformation<MaskedState<CountState>>;
export function addDecayedWeights(
  weightDecay: ScalarOrSchedule,
  options: { readonly mask?: Mask } = {},
): GradientTransformation<CountState> | GradientTransformation<MaskedState<CountState>> {
  check('addDecayedWeights', 'weightDecay', nonNegative, 'a non-negative number or a schedule', weightDecay);
  const plain: GradientTransformation<CountState> = {
    init: () => ({ count: 0 }),
    update: (updates, state, params?: Params) => {
      const p = needParams('addDecayedWeights', params);
      const wd = valueAt(weightDecay, state.count);
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(updates)) {
        const w = p[k];
        if (w === undefined) throw new Error(`addDecayedWeights: params have no leaf '${k}' (updates and params must match)`);
        out[k] = tf.tidy(() => tf.add(updates[k] as tf.Tensor, tf.mul(w, wd)));
      }
      return [out, { count: state.count + 1 }];
    },
    // u + wd·w: the gradient passes through.
    gradientScale: () => 1,
  };
  return options.mask === undefined ? plain : masked(plain, options.mask);
}
