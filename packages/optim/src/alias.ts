import type { GradientTransformation, ScalarOrSchedule } from './types';
import { chain } from './chain';
import { identity } from './identity';
import { scaleByLearningRate } from './scale';
import { trace } from './trace';
import { addDecayedWeights } from './addDecayedWeights';
import { scaleByAdam, type AdamOptions } from './scaleByAdam';
import type { Mask, MaskedState } from './masked';
import type { EmptyState } from './identity';
import type { CountState } from './scale';
import type { TraceState } from './trace';
import type { AdamState } from './scaleByAdam';

/** State of {@link sgd}: [weight decay, momentum, learning rate]; absent parts hold `{}`. */
export type SgdState = readonly [EmptyState | CountState, EmptyState | TraceState, CountState];
/** State of {@link adam}: [moments, learning rate]. */
export type AdamChainState = readonly [AdamState, CountState];
/** State of {@link adamw}: [moments, weight decay, learning rate]. */
export type AdamwState = readonly [AdamState, CountState | MaskedState<CountState>, CountState];

/** Options of {@link sgd}; each part of the chain is present exactly when its option is given. */
export interface SgdOptions {
  /** Momentum μ (PyTorch semantics, dampening 0); omit for plain SGD. */
  readonly momentum?: number;
  /** Nesterov momentum (needs `momentum`). */
  readonly nesterov?: boolean;
  /** Coupled (L2) weight decay added to the gradient before momentum, as PyTorch's `weight_decay`. */
  readonly weightDecay?: ScalarOrSchedule;
}

/**
 * Stochastic gradient descent with `torch.optim.SGD` semantics:
 *
 *   g ← g + wd·w;  buf ← μ·buf + g (first buf = g);  d = nesterov ? g + μ·buf : buf;  w ← w − lr·d
 *
 * = `chain(addDecayedWeights(wd)?, trace({decay: μ, nesterov})?, scaleByLearningRate(lr))`, the
 * optional parts present exactly when their option is given (so the state's shape depends only
 * on which options are given, never on their values).
 */
export const sgd = (learningRate: ScalarOrSchedule, options: SgdOptions = {}): GradientTransformation<SgdState> => {
  const { momentum, nesterov = false, weightDecay } = options;
  if (nesterov && momentum === undefined) throw new Error('sgd: nesterov needs a momentum (got none)');
  return chain(
    weightDecay === undefined ? identity() : addDecayedWeights(weightDecay),
    momentum === undefined ? identity() : trace({ decay: momentum, nesterov }),
    scaleByLearningRate(learningRate),
  );
};

/**
 * Adam (Kingma & Ba 2015): `chain(scaleByAdam({b1, b2, eps, epsRoot, nesterov}), scaleByLearningRate(lr))`,
 * defaults b1 0.9, b2 0.999, eps 1e-8 (optax `adam`, `torch.optim.Adam`).
 */
export const adam = (learningRate: ScalarOrSchedule, options: AdamOptions = {}): GradientTransformation<AdamChainState> =>
  chain(scaleByAdam(options), scaleByLearningRate(learningRate));

/** Options of {@link adamw}. */
export interface AdamwOptions extends AdamOptions {
  /** Decoupled weight decay, default 1e-4 (optax's default; PyTorch's is 1e-2). */
  readonly weightDecay?: ScalarOrSchedule;
  /** Which leaves are decayed (default all). */
  readonly mask?: Mask;
}

/**
 * AdamW (Loshchilov & Hutter 2019), decoupled weight decay: `w ← w − lr·(adam(g) + wd·w)` =
 * `chain(scaleByAdam(...), addDecayedWeights(wd, {mask}), scaleByLearningRate(lr))`
 * (optax `adamw`; `torch.optim.AdamW` applies the same `lr·wd·w` term).
 */
export const adamw = (learningRate: ScalarOrSchedule, options: AdamwOptions = {}): GradientTransformation<AdamwState> => {
  const { weightDecay = 1e-4, mask, ...adamOptions } = options;
  return chain(
    scaleByAdam(adamOptions),
    addDecayedWeights(weightDecay, mask === undefined ? {} : { mask }),
    scaleByLearningRate(learningRate),
  );
};
