import * as tf from '@tensorflow/tfjs-core';
import type { Params, Tree } from '@lets/tree';

/**
 * One evaluation of the loss and its gradients at some parameters, on a fixed batch.
 * `state` is the model state (BatchNorm statistics) this pass produced, when the model has any.
 * Every tensor in it is owned by the caller.
 */
export interface GradResult {
  readonly loss: tf.Scalar;
  readonly grads: Params;
  readonly state?: Tree;
}

/** Loss and gradients at any parameters, on the batch the closure holds. */
export type GradFn = (params: Params) => GradResult;

/** A differentiable scalar loss of the parameters (for double back-propagation). */
export type LossFn = (params: Params) => tf.Scalar;

/**
 * Extra arguments to `update`. Every transform accepts and ignores fields it does not know.
 * - `gradFn`: loss and gradients on the current training batch (SAM's perturbed pass).
 * - `valGradFn`: the same on a validation batch (LETS's upper level).
 * - `lossFn` / `valLossFn`: differentiable losses on those batches (exact Hessian–vector products).
 * - `loss`: the loss that goes with the incoming gradients (the clean pass at `params`).
 * - `step`: the global step count, when the caller tracks one.
 */
export interface Extra {
  readonly loss?: tf.Scalar;
  readonly gradFn?: GradFn;
  readonly valGradFn?: GradFn;
  readonly lossFn?: LossFn;
  readonly valLossFn?: LossFn;
  readonly step?: number;
  readonly [key: string]: unknown;
}

/**
 * optax's GradientTransformation: `init(params) → state` and
 * `update(updates, state, params, extra) → [updates, state]`.
 *
 * Contract (every transform in the algebra keeps it):
 * - Pure: never mutates or disposes its inputs (`updates`, `state`, `params`, `extra`).
 * - Everything returned is new and owned by the caller: a leaf passed through unchanged is
 *   returned as `tf.clone` (which shares the buffer, so it costs no copy). The caller disposes
 *   the old state and the input updates when it no longer needs them.
 * - Updates are *added* to params (`applyUpdates`); descent comes from `scaleByLearningRate`.
 * - State is plain readonly data (tensors, numbers, strings, arrays, objects) with stable
 *   keys, so `serializeState` from @lets/tree checkpoints it.
 */
export interface GradientTransformation<S = unknown> {
  readonly init: (params: Params) => S;
  readonly update: (updates: Params, state: S, params?: Params, extra?: Extra) => readonly [Params, S];
  /**
   * What a training loop may report about a state (host numbers and strings, no tensors):
   * `rho` for a SAM variant or LETS, LETS's gap and hypergradient, …. Optional; a loop reads
   * this and never the state's shape. By convention `rho` is the ρ the next update uses.
   */
  readonly metrics?: (state: S) => TransformMetrics;
  /**
   * Where the update is affine in `updates` with Jacobian c·I at this state, params and extra
   * (u = c·g + terms free of g): c. Then ∂U/∂g · w = c·w exactly, and a derivative of the
   * update map in g (@lets/bilevel's `gradientTangent`, LETS's tangents) is one scaling instead
   * of two updates differenced. Optional and conservative: absent means "not known to be",
   * never "not affine". The algebra sets it on identity, scale, scaleBySchedule,
   * scaleByLearningRate, trace, addDecayedWeights without a mask, and chain/namedChain of
   * transforms that all set it; a wrapper that does not forward it only costs the difference.
   * Reads host numbers only (no tensor, no host read-back).
   */
  readonly gradientScale?: (state: S, params?: Params, extra?: Extra) => number;
}

/** A transformation's report of its state (see {@link GradientTransformation.metrics}). */
export type TransformMetrics = Readonly<Record<string, number | string | boolean | undefined>> & { readonly rho?: number };

/** A function of the step count (0-based: the value used for the first update is `schedule(0)`). */
export type Schedule = (count: number) => number;

/** A hyperparameter given as a constant or as a schedule of the step count. */
export type ScalarOrSchedule = number | Schedule;
