/**
 * 'fisher': the empirical-Fisher diagonal, H ≈ diag(g ⊙ g) with g = ∇L(x), so H·v ≈ g ⊙ g ⊙ v.
 * The diagonal approximation LETS (Wang et al. 2024) uses for efficiency. Free when ∇L(x) is
 * known (SAM's perturbed gradient g_p), one gradient evaluation otherwise. Not exact in
 * general: it is the diagonal of the outer product of the mini-batch gradient, a positive
 * curvature proxy that keeps the sign of every coordinate of v (for a well-specified
 * likelihood, the expected per-sample outer product equals the expected Hessian; the
 * mini-batch version used here only approximates its diagonal). Exact only where the
 * Hessian happens to equal diag(g ⊙ g).
 */
import * as tf from '@tensorflow/tfjs-core';
import { dispose, zipWith, type Params } from '@lets/tree';
import { type HvpEstimator, type HvpProblem, required } from './hvp';

export const fisherHvp = (): HvpEstimator => ({
  name: 'fisher',
  gradEvals: 0,
  gradEvalsWithoutGrads: 1,
  needs: ['gradFn'],
  hvp: (problem: HvpProblem, v: Params): Params => {
    let g = problem.grads;
    let owned = false;
    if (g === undefined) {
      const r = required(problem.gradFn, 'grads or a gradFn', 'fisher')(problem.params);
      r.loss.dispose();
      if (r.state !== undefined) dispose(r.state);
      g = r.grads;
      owned = true;
    }
    const out = tf.tidy(() => zipWith((gi, vi) => tf.mul(tf.square(gi), vi))(g, v));
    if (owned) dispose(g);
    return out;
  },
});
