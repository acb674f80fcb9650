/**
 * Hessian–vector product estimators, each a named option.
 *
 * An estimator approximates H·v, with H = ∇²L(x) the Hessian of a training loss at a point x,
 * from what a training step already has: the point, possibly the gradient there, a gradient
 * closure and a differentiable loss closure. They differ in cost and in where they are exact:
 *
 * | name       | H·v ≈                                   | extra gradient evaluations | exact when                      |
 * |------------|-----------------------------------------|----------------------------|---------------------------------|
 * | 'exact'    | ∇⟨∇L(x), v⟩ (double back-propagation)   | ≈ 2 (one traced, one outer) | always (to float32 rounding)    |
 * | 'fd'       | (∇L(x + h v) − ∇L(x)) / h               | 1 (2 without ∇L(x))         | L quadratic along v; h → 0      |
 * | 'central'  | (∇L(x + h v) − ∇L(x − h v)) / 2h        | 2                           | L cubic along v; h → 0          |
 * | 'fisher'   | g ⊙ g ⊙ v, g = ∇L(x) (empirical Fisher) | 0 (1 without ∇L(x))         | only when H = diag(g ⊙ g)       |
 * | 'identity' | v                                       | 0                           | only when H = I                 |
 *
 * The finite-difference step is relative to the point's size: h = relStep · max(1, ‖x‖) / ‖v‖,
 * so the perturbation h·‖v‖ is a fixed fraction of ‖x‖ (float32 rounding in ∇L(x) scales with ‖x‖).
 *
 * References: Pearlmutter (1994), "Fast exact multiplication by the Hessian"; Nocedal & Wright,
 * "Numerical Optimization" §8.1 (difference Hessian-vector products); LETS (Wang et al., ECML PKDD
 * 2024) for the diagonal approximation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { GradFn, LossFn } from '@lets/optim';
import type { Params } from '@lets/tree';

export type HvpEstimatorName = 'exact' | 'fd' | 'central' | 'fisher' | 'identity';

/** Where H·v is wanted, and what is known there. Nothing in it is mutated or disposed. */
export interface HvpProblem {
  /** The point x where the Hessian is taken. */
  readonly params: Params;
  /** ∇L(x) when already known (saves the 'fd' and 'fisher' estimators a gradient evaluation). */
  readonly grads?: Params;
  /** Loss and gradients at any point (for 'fd', 'central', and 'fisher' without `grads`). */
  readonly gradFn?: GradFn;
  /** A twice-differentiable loss of the params (for 'exact'). */
  readonly lossFn?: LossFn;
}

export interface HvpEstimator {
  /** A label for reports ('fd', …, or a user estimator's own); never dispatched on. */
  readonly name: string;
  /** Gradient evaluations one product costs when `grads` is given (double back-prop counts ≈ 2). */
  readonly gradEvals: number;
  /** Gradient evaluations one product costs when `grads` is not given (absent: `gradEvals`). */
  readonly gradEvalsWithoutGrads?: number;
  /** What of {@link HvpProblem} it needs beyond `params` (absent: nothing). */
  readonly needs?: readonly ('gradFn' | 'lossFn')[];
  /** H·v (or its approximation), a new tree owned by the caller, with v's keys and shapes. */
  readonly hvp: (problem: HvpProblem, v: Params) => Params;
}

/** Options of the finite-difference estimators. */
export interface DifferenceOptions {
  /** h = relStep · max(1, ‖x‖) / ‖v‖. Defaults: 1e-3 ('fd'), 1e-2 ('central'). */
  readonly relStep?: number;
}

/** Throws naming `what` when `f` is absent. */
export const required = <T>(f: T | undefined, what: string, estimator: string): T => {
  if (f === undefined || f === null) {
    throw new Error(`hvp '${estimator}': needs ${what}, which was not given`);
  }
  return f;
};

/** Scalar host value of a tensor (one sync). */
export const scalarOf = (t: tf.Tensor): number => (t.dataSync() as Float32Array)[0] as number;
