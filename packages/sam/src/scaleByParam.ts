import * as tf from '@tensorflow/tfjs-core';
import * as T from '@lets/tree';
import type { LeafPredicate } from '@lets/tree';
import type { GradientTransformation } from '@lets/optim';
import { checkNumber } from './numerics';

/** Which leaves ASAM's operator T scales: every one, weights of rank > 1, or a predicate. */
export type ParamFilter = 'all' | 'weights' | LeafPredicate;

/** Leaves of rank > 1 (kernels, embedding tables): the official ASAM code's choice. */
export const isWeight: LeafPredicate = (_path, x) => x.rank > 1;

const predicateOf = (filter: ParamFilter): LeafPredicate =>
  filter === 'all' ? () => true : filter === 'weights' ? isWeight : filter;

/** Options of {@link scaleByParam}. */
export interface ScaleByParamOptions {
  /** η in T = |w| + η (default 0.01, ASAM's). */
  readonly eta?: number;
  /** Leaves scaled by T; the others by 1 (default 'weights': rank > 1). */
  readonly filter?: ParamFilter;
}

/**
 * ASAM's normalization operator: d ← T_w d with T_w = |w| + η element-wise on the selected
 * leaves and T = 1 elsewhere (Kwon et al. 2021, "ASAM: Adaptive Sharpness-Aware Minimization").
 *
 * ASAM's ascent ε = ρ T²g/‖Tg‖ is the chain `chain(scaleByParam(), normalize(), scaleByParam())`.
 * The official code (SamsungLabs/ASAM) uses η = 0.01 and scales weight tensors only; the
 * PyTorch SAM library's `adaptive=True` (davda54/sam) is η = 0 on every parameter.
 */
export const scaleByParam = (options: ScaleByParamOptions = {}): GradientTransformation<Record<string, never>> => {
  const eta = checkNumber('scaleByParam: eta', options.eta ?? 0.01, 0);
  const pred = predicateOf(options.filter ?? 'weights');
  return {
    init: () => ({}),
    update: (d, state, params) => {
      if (params === undefined) throw new Error('scaleByParam: update needs params (T = |w| + η), got undefined');
      T.assertSameStructure(d, params, 'scaleByParam: direction and params');
      const out = T.map((x, k) => {
        const w = params[k] as tf.Tensor;
        return pred(k, w) ? tf.tidy(() => tf.mul(x, tf.add(tf.abs(w), eta))) : tf.clone(x);
      })(d);
      return [out, state];
    },
  };
};
