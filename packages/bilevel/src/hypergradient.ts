/**
 * Hypergradient of an upper objective through one unrolled lower step.
 *
 * Lower step, for hyperparameters λ (ρ, a learning rate, a weight decay, …):
 *
 *   θ'(λ) = θ + Φ( ∇L(x(λ)), λ )        x(λ): the point where the lower gradient is taken
 *
 * (SGD: Φ(g) = −η g; SAM: x(ρ) = θ + ρ n with the unit ascent direction n held fixed.) Then
 *
 *   dθ'/dλ = ∂Φ/∂g · H(x) · ∂x/∂λ  +  ∂Φ/∂λ,          H(x) = ∇²L(x)
 *   dF/dλ  = ⟨∇F(θ'), dθ'/dλ⟩ (+ ∂F/∂λ when F depends on λ directly)
 *
 * `stepTangent` assembles dθ'/dλ from those pieces with any Hessian–vector product
 * estimator; `hyperDot` contracts it with ∇F(θ'). For LETS's objective F = ½ δ², with the
 * gap δ = L(B^vl; θ') − L(B^tr; θ'), `gapObjective` gives ∇F = δ u, u = ∇L_vl − ∇L_tr.
 * Reference: Maclaurin et al. (2015), "Gradient-based hyperparameter optimization through
 * reversible learning" (one-step unrolling); LETS (Wang et al., ECML PKDD 2024).
 */
import * as tf from '@tensorflow/tfjs-core';
import { add, clone, dispose, sub, vdot, type Params } from '@lets/tree';
import type { HvpEstimator, HvpProblem } from './hvp';
import { scalarOf } from './hvp';

/** The pieces of dθ'/dλ for ONE scalar hyperparameter (call once per component of a vector λ). */
export interface StepLinearization {
  /** ∂x/∂λ: how the point where the lower gradient is taken moves (n for SAM's ρ); absent: it does not. */
  readonly point?: Params;
  /** Where the Hessian is taken and what is known there; required with `point`. */
  readonly problem?: HvpProblem;
  /** w ↦ ∂Φ/∂g · w, the derivative of the update map in the gradient; absent: the identity. */
  readonly updateTangent?: (w: Params) => Params;
  /** ∂Φ/∂λ at a fixed gradient (−g for SGD's learning rate); absent: zero. */
  readonly direct?: Params;
}

/**
 * dθ'/dλ = ∂Φ/∂g · Ĥ ∂x/∂λ + ∂Φ/∂λ, with Ĥ· from `estimator`. Returns a new tree, or
 * undefined when neither `point` nor `direct` is given (λ does not enter the step).
 * Cost: the estimator's gradient evaluations, plus whatever `updateTangent` costs.
 */
export const stepTangent = (lin: StepLinearization, estimator: HvpEstimator): Params | undefined => {
  let viaGradient: Params | undefined;
  if (lin.point !== undefined) {
    if (lin.problem === undefined) throw new Error('stepTangent: `problem` (where the Hessian is taken) is required with `point`');
    const hv = estimator.hvp(lin.problem, lin.point);
    if (lin.updateTangent !== undefined) {
      viaGradient = lin.updateTangent(hv);
      dispose(hv);
    } else {
      viaGradient = hv;
    }
  }
  if (viaGradient === undefined) return lin.direct === undefined ? undefined : clone(lin.direct);
  if (lin.direct === undefined) return viaGradient;
  const out = add(viaGradient, lin.direct);
  dispose(viaGradient);
  return out;
};

/** ⟨∇F(θ'), dθ'/dλ⟩ as a host number (one sync). */
export const hyperDot = (upperGrads: Params, tangent: Params): number =>
  tf.tidy(() => scalarOf(vdot(upperGrads, tangent)));

/** LETS's upper objective F = ½ δ² at θ', from losses and gradients on the two batches. */
export interface GapObjective {
  /** F = ½ δ². */
  readonly value: number;
  /** δ = L_vl − L_tr, the signed generalization gap. */
  readonly gap: number;
  /** ∇_θ' F = δ (∇L_vl − ∇L_tr), a new tree owned by the caller. */
  readonly grads: Params;
}

/**
 * F = ½ (L_vl − L_tr)² and its gradient δ·(∇L_vl − ∇L_tr) at θ'. Inputs are not disposed.
 */
export const gapObjective = (
  valLoss: tf.Scalar,
  trainLoss: tf.Scalar,
  valGrads: Params,
  trainGrads: Params,
): GapObjective => {
  const gap = scalarOf(valLoss) - scalarOf(trainLoss);
  const grads = tf.tidy(() => {
    const u = sub(valGrads, trainGrads);
    const out: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(u)) out[k] = tf.mul(u[k]!, gap);
    return out as Params;
  });
  return { value: 0.5 * gap * gap, gap, grads };
};
