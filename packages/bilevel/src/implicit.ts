/**
 * Implicit-function-theorem hypergradient with a Neumann-series inverse (Lorraine, Vicol &
 * Duvenaud 2020, "Optimizing millions of hyperparameters by implicit differentiation").
 *
 * At a lower optimum θ*(λ), ∇_θ L(θ*, λ) = 0, so dθ* / dλ = −H⁻¹ ∂²L/∂θ∂λ and
 *
 *   dF/dλ = ∂F/∂λ − (∂²L/∂λ∂θ) p,      p = H⁻¹ ∇_θ F(θ*)
 *   p ≈ α Σ_{j=0}^{K} (I − α H)^j ∇_θ F        (converges when H ≻ 0 and α < 2/λ_max(H))
 *
 * The mixed term is ∇_λ ⟨∇_θ L(θ*, λ), p⟩ by double back-propagation. Cost: K Hessian–vector
 * products (by the chosen estimator) plus one double back-propagation; exact as K → ∞ at an
 * exact optimum; the truncation error decays like (1 − α λ_min(H))^K.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addScaled, dispose, scaleBy, type Params } from '@lets/tree';
import { gradFnOf } from '@lets/optim';
import type { GradFn, LossFn } from '@lets/optim';
import type { HvpEstimator, HvpEstimatorName } from './hvp';
import { hvpEstimator } from './hvp_estimator';

export interface ImplicitProblem {
  /** θ*, (approximately) a minimizer of the lower loss for `hyper`. Not disposed. */
  readonly params: Params;
  /** λ. */
  readonly hyper: readonly number[];
  /** The lower loss L(θ, λ), twice differentiable, in tfjs ops. */
  readonly lowerLoss: (params: Params, hyper: tf.Tensor1D) => tf.Scalar;
  /** ∇_θ F(θ*). Not disposed. */
  readonly upperGrads: Params;
  /** ∂F/∂λ when F depends on λ directly (default 0). */
  readonly upperDirect?: readonly number[];
  /** K, Neumann terms after the first (default 50). */
  readonly terms?: number;
  /** α, the Neumann step (default 1; must be < 2/λ_max(H)). */
  readonly alpha?: number;
  /** H·v estimator (default 'exact'). */
  readonly estimator?: HvpEstimatorName | HvpEstimator;
}

const keysOf = (p: Params): string[] => Object.keys(p);

export const implicitHypergradient = (problem: ImplicitProblem): number[] => {
  const K = problem.terms ?? 50;
  const alpha = problem.alpha ?? 1;
  if (!Number.isInteger(K) || K < 0) throw new Error(`implicitHypergradient: terms must be an integer ≥ 0, got ${K}`);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new Error(`implicitHypergradient: alpha must be > 0, got ${alpha}`);
  const estimator = hvpEstimator(problem.estimator ?? 'exact');
  const keys = keysOf(problem.params);
  const lam = tf.tensor1d(problem.hyper as number[], 'float32');
  const lossFn: LossFn = (p) => problem.lowerLoss(p, lam);
  const gradFn: GradFn = gradFnOf(lossFn);
  const hvpProblem = { params: problem.params, lossFn, gradFn };

  // Neumann series: r_0 = b, r_{j+1} = r_j − α H r_j, p = α Σ_j r_j.
  let r = scaleBy(problem.upperGrads, 1);
  let p = scaleBy(problem.upperGrads, alpha);
  for (let j = 0; j < K; j++) {
    const hr = estimator.hvp(hvpProblem, r);
    const rNext = addScaled(r, -alpha, hr);
    dispose(hr);
    dispose(r);
    r = rNext;
    const pNext = addScaled(p, alpha, r);
    dispose(p);
    p = pNext;
  }
  dispose(r);

  // Mixed term ∇_λ ⟨∇_θ L(θ*, λ), p⟩.
  const mixed = tf.tidy(() => {
    const xs = keys.map((k) => problem.params[k]!);
    const g = tf.grad((l: tf.Tensor) => {
      const gs = tf.grads((...ws: tf.Tensor[]) => {
        const t: Record<string, tf.Tensor> = {};
        keys.forEach((k, i) => (t[k] = ws[i]!));
        return problem.lowerLoss(t, l as tf.Tensor1D);
      })(xs);
      return tf.addN(gs.map((gi, i) => tf.sum(tf.mul(gi, p[keys[i]!]!)))) as tf.Scalar;
    })(lam);
    return Array.from(g.dataSync());
  });
  dispose(p);
  lam.dispose();
  return mixed.map((m, i) => (problem.upperDirect?.[i] ?? 0) - m);
};
